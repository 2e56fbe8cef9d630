"""The chat demo: /ws/chat over python3-websockets (rooms, presence across
worker threads, errors, leave) and the /chat page in a real browser
(playwright-core + Debian's chromium, tests/node/chat_browser_check.mjs).

Node.js, tests/node/node_modules and /usr/bin/chromium are required
(scripts/setup.sh and scripts/test.sh install them): a missing peer is a
failure, not a skip.
"""
import asyncio
import json
import os
import shutil
import subprocess
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.normpath(os.path.join(HERE, "..", "node"))
CHROMIUM = "/usr/bin/chromium"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Chat:
    """One /ws/chat client; every received JSON object is kept in `seen`."""

    def __init__(self, ws):
        self.ws = ws
        self.seen = []
        self.pos = 0

    @classmethod
    async def open(cls, port, **kw):
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/chat", open_timeout=5,
                                      close_timeout=2, ping_interval=None, **kw)
        return cls(ws)

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def wait(self, pred, timeout=5.0, what=""):
        """The first not-yet-consumed message matching `pred`; earlier
        non-matching ones stay in `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self.pos, len(self.seen)):
                if pred(self.seen[i]):
                    self.pos = i + 1
                    return self.seen[i]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.seen[self.pos:]}")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), remaining)
            except asyncio.TimeoutError:
                continue
            assert isinstance(raw, str), f"chat frames are text, got {raw!r}"
            self.seen.append(json.loads(raw))

    async def presence(self, room, users, timeout=5.0):
        return await self.wait(lambda m: m.get("type") == "presence" and m.get("room") == room
                               and m.get("users") == users, timeout, f"presence {room} {users}")

    async def message(self, room, frm, body, timeout=5.0):
        return await self.wait(lambda m: m.get("type") == "message" and m.get("room") == room
                               and m.get("from") == frm and m.get("body") == body, timeout,
                               f"message {frm}: {body}")

    async def error(self, timeout=5.0):
        m = await self.wait(lambda m: m.get("type") == "error", timeout, "an error")
        assert isinstance(m.get("error"), str) and m["error"], m
        return m

    async def quiet(self, seconds, pred):
        """No message matching `pred` arrives within `seconds`."""
        try:
            m = await self.wait(pred, seconds, "")
        except AssertionError:
            return
        raise AssertionError(f"unexpected {m}")

    async def close(self):
        await self.ws.close()


def test_chat_rooms_presence_messages(server):
    """Six clients on two workers (the server runs --workers 2; connections are
    spread by SO_REUSEPORT) in one room: presence and messages reach all."""
    port = server.port
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]

    async def go():
        clients = []
        try:
            for i, name in enumerate(names):
                c = await Chat.open(port, subprotocols=["chat"])
                assert c.ws.subprotocol == "chat"
                clients.append(c)
                await c.send({"type": "join", "room": "lobby", "name": name})
                await c.presence("lobby", sorted(names[:i + 1]))
            everyone = sorted(names)
            for c in clients[:-1]:  # the last one already saw it
                await c.presence("lobby", everyone)

            # a message reaches every member, the sender included
            await clients[0].send({"type": "message", "room": "lobby", "body": "hi all"})
            for c in clients:
                await c.message("lobby", "alice", "hi all")
            await clients[4].send({"type": "message", "room": "lobby", "body": "κόσμε €𝄞"})
            for c in clients:
                await c.message("lobby", "erin", "κόσμε €𝄞")

            # bad JSON, unknown type, not in the room: errors, connection stays open
            await clients[1].send("this is not json")
            await clients[1].error()
            await clients[1].send({"type": "dance", "room": "lobby"})
            await clients[1].error()
            await clients[2].send({"type": "message", "room": "elsewhere", "body": "x"})
            await clients[2].error()
            await clients[2].send({"type": "message", "room": "lobby", "body": "still here"})
            for c in clients:
                await c.message("lobby", "carol", "still here")

            # leave: the others get the new presence, the leaver no more messages
            await clients[5].send({"type": "leave", "room": "lobby"})
            rest = sorted(names[:5])
            for c in clients[:5]:
                await c.presence("lobby", rest)
            await clients[0].send({"type": "message", "room": "lobby", "body": "after leave"})
            for c in clients[:5]:
                await c.message("lobby", "alice", "after leave")
            await clients[5].quiet(0.5, lambda m: m.get("body") == "after leave")
            await clients[5].send({"type": "message", "room": "lobby", "body": "x"})
            await clients[5].error()

            # disconnecting counts as leaving
            await clients[4].close()
            for c in clients[:4]:
                await c.presence("lobby", sorted(names[:4]))
        finally:
            for c in clients:
                await c.close()

    run(go())


def test_chat_rooms_are_isolated_and_guest_names(server):
    port = server.port

    async def go():
        a = await Chat.open(port)
        b = await Chat.open(port)
        g = await Chat.open(port)
        try:
            await a.send({"type": "join", "room": "lobby", "name": "alice"})
            await a.presence("lobby", ["alice"])
            await b.send({"type": "join", "room": "lounge", "name": "bob"})
            await b.presence("lounge", ["bob"])
            await g.send({"type": "join", "room": "lounge"})  # no name: guest-N
            p = await g.wait(lambda m: m.get("type") == "presence" and len(m["users"]) == 2,
                             what="presence with a guest")
            guests = [u for u in p["users"] if u != "bob"]
            assert len(guests) == 1 and guests[0].startswith("guest-"), p
            assert p["users"] == sorted(p["users"]), p
            await a.send({"type": "message", "room": "lobby", "body": "lobby only"})
            await a.message("lobby", "alice", "lobby only")
            await b.quiet(0.5, lambda m: m.get("body") == "lobby only")
            await g.send({"type": "message", "room": "lounge", "body": "from guest"})
            await b.message("lounge", guests[0], "from guest")
            # one connection in two rooms
            await a.send({"type": "join", "room": "lounge", "name": "alice"})
            await b.presence("lounge", sorted(["alice", "bob", guests[0]]))
            await b.send({"type": "message", "room": "lounge", "body": "to lounge"})
            await a.message("lounge", "bob", "to lounge")
            # invalid room names
            await a.send({"type": "join", "room": "", "name": "alice"})
            await a.error()
            await a.send({"type": "join", "room": "r" * 65, "name": "alice"})
            await a.error()
        finally:
            for c in (a, b, g):
                await c.close()

    run(go())


def test_chat_page_served(server):
    import urllib.request
    with urllib.request.urlopen(f"{server.url}/chat", timeout=5) as r:
        assert r.status == 200
        assert "text/html" in r.headers.get("content-type", "")
        body = r.read().decode()
    assert "/ws/chat" in body


def test_chat_in_browser(server, tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is required for the browser test: run scripts/setup.sh"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")), \
        "tests/node/node_modules is missing playwright-core: run `npm ci` in tests/node " \
        "(scripts/test.sh does it)"
    assert os.access(CHROMIUM, os.X_OK), \
        f"{CHROMIUM} is required for the browser test: apt-get install chromium (scripts/setup.sh)"
    env = dict(os.environ, TMPDIR=str(tmp_path), HOME=str(tmp_path),
               CHAT_CHECK_TIMEOUT_MS="45000")
    p = subprocess.run([node, os.path.join(NODE_DIR, "chat_browser_check.mjs"), server.url],
                       cwd=NODE_DIR, env=env, capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace").strip()
    err = p.stderr.decode(errors="replace")[-4000:]
    try:
        res = json.loads(out.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        res = None
    assert p.returncode == 0 and res and res["ok"], f"rc={p.returncode}\n{out}\n{err}"
    assert "alice: hello from alice" in res["logB"], res
    assert "bob: hi alice" in res["logA"], res
