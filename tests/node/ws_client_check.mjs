// Interop check with the npm `ws` client: echoes messages of several sizes
// (text and binary) through a WebSocket URL, then closes with 1000, and
// prints one JSON object with what happened. Exit code 0 = every echo
// matched and the close handshake completed; anything else is a failure.
//
//   node ws_client_check.mjs --url ws://127.0.0.1:PORT/ws/echo
//        [--deflate] [--sizes 0,125,126,65536] [--repeat 2] [--ca dev-ca.pem]
//        [--servername localhost]
//        [--protocol echo] [--oversize N]   (send N bytes, expect close 1009)
//
// Every step is bounded by --timeout-ms (default 20000).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

function parseArgs(argv) {
  const o = { sizes: [0, 1, 125, 126, 65535, 65536, 500000], repeat: 2, deflate: false,
              timeoutMs: 20000, protocol: null, ca: null, servername: null, url: null,
              oversize: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') o.url = argv[++i];
    else if (a === '--deflate') o.deflate = true;
    else if (a === '--sizes') o.sizes = argv[++i].split(',').filter(Boolean).map(Number);
    else if (a === '--repeat') o.repeat = Number(argv[++i]);
    else if (a === '--ca') o.ca = argv[++i];
    else if (a === '--servername') o.servername = argv[++i];
    else if (a === '--protocol') o.protocol = argv[++i];
    else if (a === '--oversize') o.oversize = Number(argv[++i]);
    else if (a === '--timeout-ms') o.timeoutMs = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.url) throw new Error('--url is required');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const result = { ok: false, url: opts.url, deflate: opts.deflate, extensions: null,
                 protocol: null, echoes: [], closeCode: null, closeReason: null, error: null };
const killer = setTimeout(() => {
  result.error = `timeout after ${opts.timeoutMs} ms`;
  finish(2);
}, opts.timeoutMs);

function finish(code) {
  clearTimeout(killer);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(code);
}

function payloadFor(size, binary, i) {
  if (binary) return randomBytes(size);
  // text with multi-byte characters: `size` bytes, cut at a character
  // boundary and padded with ASCII
  const unit = Buffer.from(`msg ${i} κόσμε €𝄞 `);
  const buf = Buffer.alloc(size, 'x');
  const whole = Math.floor(size / unit.length);
  for (let k = 0; k < whole; k++) unit.copy(buf, k * unit.length);
  const s = buf.toString('utf8');
  if (Buffer.byteLength(s) !== size) throw new Error('payloadFor: bad length');
  return s;
}

const wsOpts = { perMessageDeflate: opts.deflate, maxPayload: 64 * 1024 * 1024,
                 handshakeTimeout: opts.timeoutMs };
if (opts.ca) wsOpts.ca = readFileSync(opts.ca);
// connect to an IP literal but verify the certificate for this name (node 18
// would try ::1 first for "localhost", where nothing listens)
if (opts.servername) wsOpts.servername = opts.servername;
const ws = opts.protocol ? new WebSocket(opts.url, [opts.protocol], wsOpts)
                         : new WebSocket(opts.url, wsOpts);
ws.binaryType = 'nodebuffer';
ws.on('upgrade', (res) => {
  result.extensionsHeader = res.headers['sec-websocket-extensions'] || null;
});

let pending = null;
ws.on('message', (data, isBinary) => {
  if (!pending) { result.error = 'unexpected message'; finish(1); return; }
  const p = pending; pending = null; p(data, isBinary);
});
ws.on('error', (err) => { result.error = String(err && err.message || err); });
ws.on('close', (code, reason) => {
  result.closeCode = code;
  result.closeReason = reason.toString();
  if (pending) { const p = pending; pending = null; p(null, null); }
  if (closeWaiter) closeWaiter();
  if (!opened) finish(1);
});
let closeWaiter = null;
const closed = new Promise((resolve) => { closeWaiter = resolve; });

function echo(payload, binary) {
  return new Promise((resolve) => {
    pending = (data, isBinary) => {
      if (data === null) { resolve({ ok: false, why: 'closed' }); return; }
      const sent = binary ? payload : Buffer.from(payload);
      const ok = isBinary === binary && Buffer.compare(Buffer.from(data), sent) === 0;
      resolve({ ok, why: ok ? null : `mismatch: got ${data.length} bytes, binary=${isBinary}` });
    };
    ws.send(payload, { binary });
  });
}

let opened = false;
ws.on('open', async () => {
  opened = true;
  try {
    result.extensions = ws.extensions || '';
    result.protocol = ws.protocol || '';
    if (opts.oversize > 0) {
      ws.send(randomBytes(opts.oversize), { binary: true });
      await closed;
      result.ok = result.closeCode === 1009;
      finish(result.ok ? 0 : 1);
      return;
    }
    let i = 0;
    for (let r = 0; r < opts.repeat; r++) {
      for (const size of opts.sizes) {
        for (const binary of [false, true]) {
          const payload = payloadFor(size, binary, i++);
          const t0 = Date.now();
          const e = await echo(payload, binary);
          result.echoes.push({ size, binary, ok: e.ok, why: e.why, ms: Date.now() - t0 });
          if (!e.ok) { result.error = `echo of ${size} bytes failed: ${e.why}`; finish(1); return; }
        }
      }
    }
    ws.close(1000, 'done');
    await closed;
    result.ok = result.closeCode === 1000 && result.echoes.every((e) => e.ok);
    finish(result.ok ? 0 : 1);
  } catch (err) {
    result.error = String(err && err.stack || err);
    finish(1);
  }
});
ws.on('unexpected-response', (req, res) => {
  result.error = `handshake answered ${res.statusCode}`;
  finish(1);
});
