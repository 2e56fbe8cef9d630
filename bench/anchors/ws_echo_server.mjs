// npm `ws` anchor server for bench/ws_bench.py.
//
//   /ws/echo               echoes every message with the same opcode
//   /ws/broadcast?topic=T  subscribes to topic T (default "all"); every message
//                          is sent to every subscriber of T, the sender included
//   anything else          HTTP 404 (plain requests) / socket destroyed (upgrades)
//
// perMessageDeflate off, maxPayload 16 MiB, no heartbeats (the same settings as
// the uWebSockets anchor). One process, one thread.
//
// Usage: node bench/anchors/ws_echo_server.mjs PORT [HOST]
import http from "node:http";
import { createRequire } from "node:module";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const host = process.argv[3] || "127.0.0.1";
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node ws_echo_server.mjs PORT [HOST]");
  process.exit(2);
}

const server = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 16 * 1024 * 1024,
  clientTracking: false,
});
const topics = new Map(); // topic -> Set<WebSocket>

server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/ws/echo") {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  } else if (url.pathname === "/ws/broadcast") {
    const topic = url.searchParams.get("topic") || "all";
    wss.handleUpgrade(req, socket, head, (ws) => {
      let subs = topics.get(topic);
      if (!subs) topics.set(topic, (subs = new Set()));
      subs.add(ws);
      ws.on("message", (data, isBinary) => {
        for (const s of subs) s.send(data, { binary: isBinary });
      });
      ws.on("close", () => {
        subs.delete(ws);
        if (subs.size === 0 && topics.get(topic) === subs) topics.delete(topic);
      });
    });
  } else {
    socket.destroy();
  }
});

server.listen(port, host, () => {
  const wsVersion = createRequire(import.meta.url)("ws/package.json").version;
  console.error(`ws_echo_server: listening on ${host}:${port} (ws ${wsVersion})`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
