"""Interop of trident's WebSocket server with real clients:

- Debian's python3-websockets (asyncio client), with and without
  permessage-deflate, plaintext and TLS (dev CA);
- the npm `ws` client (tests/node/ws_client_check.mjs, run with `node`);
- RFC 8441 WebSocket over HTTP/2 extended CONNECT with python3-h2, on h2c
  (prior knowledge) and on h2 over TLS.

Node.js and tests/node/node_modules are required (scripts/setup.sh and
scripts/test.sh install them): a missing peer is a failure, not a skip.
"""
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import time

import h2.events
import h2.settings
import pytest
import websockets

from conftest import Server
from h2client import H2Client, Response
from wsclient import (BINARY, CLOSE, PING, PONG, TEXT, build_frame, close_payload, parse_close,
                      parse_one)

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.normpath(os.path.join(HERE, "..", "node"))


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def payload(n, binary, i=0):
    if binary:
        return os.urandom(n)
    unit = f"msg {i} κόσμε €𝄞 "
    s = (unit * (n // len(unit.encode()) + 1)).encode()[:n]
    # cut back to a character boundary, pad with ASCII
    while True:
        try:
            s.decode()
            break
        except UnicodeDecodeError:
            s = s[:-1]
    return (s + b"x" * (n - len(s))).decode()


# ---------------------------------------------------------------------------
# python3-websockets


async def py_echo(uri, sizes, compression, ssl_ctx=None, max_size=8 << 20, subprotocols=None):
    out = {}
    async with websockets.connect(uri, compression=compression, max_size=max_size, ssl=ssl_ctx,
                                  open_timeout=5, close_timeout=5, ping_interval=None,
                                  subprotocols=subprotocols) as ws:
        out["extensions"] = [type(e).__name__ for e in ws.extensions]
        out["subprotocol"] = ws.subprotocol
        out["response_extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions")
        for i, n in enumerate(sizes):
            for binary in (False, True):
                msg = payload(n, binary, i)
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 20)
                assert type(got) is type(msg), (n, binary, type(got))
                assert got == msg, (n, binary, len(got))
        await ws.close(code=1000, reason="bye")
        out["close_code"] = ws.close_code
    return out


SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 200000]


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflate"])
def test_python_websockets_echo(server, compression):
    r = run(py_echo(f"ws://127.0.0.1:{server.port}/ws/echo", SIZES, compression))
    assert r["close_code"] == 1000, r
    if compression:
        assert r["extensions"] == ["PerMessageDeflate"], r
        assert "server_no_context_takeover" in r["response_extensions"], r
        assert "client_no_context_takeover" in r["response_extensions"], r
    else:
        assert r["extensions"] == [] and r["response_extensions"] is None, r


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflate"])
def test_python_websockets_large(make_server, compression):
    srv = make_server("--ws-max-message", str(8 << 20), tls=False)
    r = run(py_echo(f"ws://127.0.0.1:{srv.port}/ws/echo", [(1 << 20) - 1, (1 << 20) + 1, 3 << 20],
                    compression, max_size=16 << 20))
    assert r["close_code"] == 1000, r


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflate"])
def test_python_websockets_tls(server, compression):
    ctx = ssl.create_default_context(cafile=server.ca)
    r = run(py_echo(f"wss://localhost:{server.tls_port}/ws/echo", [0, 125, 70000], compression,
                    ssl_ctx=ctx))
    assert r["close_code"] == 1000, r


def test_python_websockets_subprotocol(server):
    r = run(py_echo(f"ws://127.0.0.1:{server.port}/ws/echo", [5], None,
                    subprotocols=["foo", "echo"]))
    assert r["subprotocol"] == "echo", r


def test_python_websockets_sees_1009(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)

    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws/echo", compression=None,
                                      open_timeout=5, close_timeout=5) as ws:
            await ws.send(b"x" * 1000)
            assert await asyncio.wait_for(ws.recv(), 5) == b"x" * 1000
            await ws.send(b"x" * 1001)
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
            return "no close"

    assert run(go()) == 1009


def test_python_websockets_rejected_handshake(make_server):
    srv = make_server("--ws-token", "secret", tls=False)

    async def go():
        try:
            async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws/echo", open_timeout=5):
                return "opened"
        except websockets.InvalidStatusCode as e:
            return e.status_code

    assert run(go()) == 401

    async def ok():
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws/echo", open_timeout=5,
                                      extra_headers={"Authorization": "Bearer secret"}) as ws:
            await ws.send("t")
            return await asyncio.wait_for(ws.recv(), 5)

    assert run(ok()) == "t"


# ---------------------------------------------------------------------------
# npm ws


def node_bin():
    node = shutil.which("node")
    assert node, ("Node.js is required for the WebSocket interop tests: run scripts/setup.sh "
                  "(installs Debian's nodejs + npm when no node is on PATH)")
    mods = os.path.join(NODE_DIR, "node_modules")
    assert os.path.isdir(os.path.join(mods, "ws")) and \
        os.path.isdir(os.path.join(mods, "playwright-core")), \
        (f"{mods} is missing ws / playwright-core: run `npm ci` in tests/node "
         "(scripts/test.sh does it)")
    return node


def run_node(script, args, timeout=60, env=None):
    node = node_bin()
    p = subprocess.run([node, os.path.join(NODE_DIR, script)] + list(args), cwd=NODE_DIR,
                       capture_output=True, timeout=timeout, env=env)
    out = p.stdout.decode(errors="replace").strip()
    try:
        result = json.loads(out.splitlines()[-1]) if out else None
    except json.JSONDecodeError:
        result = None
    return p.returncode, result, out, p.stderr.decode(errors="replace")


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_node_ws_echo(server, deflate):
    args = ["--url", f"ws://127.0.0.1:{server.port}/ws/echo",
            "--sizes", "0,1,125,126,127,1000,65535,65536,500000", "--repeat", "2"]
    if deflate:
        args.append("--deflate")
    rc, res, out, err = run_node("ws_client_check.mjs", args)
    assert rc == 0 and res and res["ok"], f"rc={rc}\n{out}\n{err}"
    assert res["closeCode"] == 1000
    assert len(res["echoes"]) == 9 * 2 * 2
    ext = res.get("extensionsHeader") or ""
    if deflate:
        assert "permessage-deflate" in ext, res
        assert "server_no_context_takeover" in ext and "client_no_context_takeover" in ext, res
    else:
        assert ext == "", res


def test_node_ws_tls(server):
    args = ["--url", f"wss://127.0.0.1:{server.tls_port}/ws/echo", "--ca", server.ca,
            "--servername", "localhost",
            "--sizes", "0,125,70000", "--deflate", "--protocol", "echo"]
    rc, res, out, err = run_node("ws_client_check.mjs", args)
    assert rc == 0 and res and res["ok"], f"rc={rc}\n{out}\n{err}"
    assert res["protocol"] == "echo", res


def test_node_ws_sees_1009(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)
    for extra in ([], ["--deflate"]):
        args = ["--url", f"ws://127.0.0.1:{srv.port}/ws/echo", "--oversize", "5000"] + extra
        rc, res, out, err = run_node("ws_client_check.mjs", args)
        assert rc == 0 and res and res["closeCode"] == 1009, f"{extra}: rc={rc}\n{out}\n{err}"


# ---------------------------------------------------------------------------
# RFC 8441: WebSocket over HTTP/2 extended CONNECT


ENABLE_CONNECT_PROTOCOL = 0x8


class H2WS:
    """A WebSocket on one HTTP/2 stream opened with extended CONNECT."""

    def __init__(self, client, path="/ws/echo", version="13", extra=()):
        self.c = client
        self.settings = {}
        # the server's SETTINGS must arrive (and announce extended CONNECT) first
        got = client.pump(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged)
                                      for e in client.events), timeout=5)
        assert got, "no SETTINGS from the server"
        for e in client.events:
            if isinstance(e, h2.events.RemoteSettingsChanged):
                for k, v in e.changed_settings.items():
                    self.settings[int(k)] = v.new_value
        hdrs = [(":method", "CONNECT"), (":protocol", "websocket"),
                (":scheme", client.scheme), (":path", path), (":authority", client.authority)]
        if version is not None:
            hdrs.append(("sec-websocket-version", version))
        hdrs += list(extra)
        self.sid = client.conn.get_next_available_stream_id()
        client.responses[self.sid] = Response()
        client.conn.send_headers(self.sid, hdrs, end_stream=False)
        client.flush()
        self.r = client.responses[self.sid]
        client.pump(lambda: self.r.status is not None or self.r.reset is not None
                    or client.goaway is not None, timeout=5)
        self.pos = 0

    @property
    def status(self):
        return self.r.status

    def send(self, data, end_stream=False):
        """Sends `data` in DATA frames of at most the peer's max frame size
        (the stream and connection windows are far larger than any test message)."""
        step = self.c.conn.max_outbound_frame_size
        chunks = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        for i, chunk in enumerate(chunks):
            self.c.conn.send_data(self.sid, chunk,
                                  end_stream=end_stream and i == len(chunks) - 1)
        self.c.flush()

    def recv_frame(self, timeout=5):
        def have():
            return (parse_one(bytes(self.r.body), self.pos) is not None or self.r.ended
                    or self.r.reset is not None)
        self.c.pump(have, timeout=timeout)
        got = parse_one(bytes(self.r.body), self.pos)
        assert got, f"no WebSocket frame (ended={self.r.ended}, reset={self.r.reset})"
        f, masked, end = got
        assert not masked, "server frames must not be masked"
        self.pos = end
        return f


@pytest.fixture
def h2server(make_server):
    """The server for the RFC 8441 tests. A short drain deadline bounds the
    teardown; test_h2c_extended_connect_released_on_close checks separately
    that nothing waits for that deadline."""
    return make_server("--drain-timeout", "3")


def assert_h2_ws_echo(c):
    ws = H2WS(c)
    assert ws.settings.get(ENABLE_CONNECT_PROTOCOL) == 1, \
        f"SETTINGS_ENABLE_CONNECT_PROTOCOL not announced: {ws.settings}"
    assert ws.status == 200, (ws.r.headers, ws.r.reset)
    assert not ws.r.ended
    assert ws.r.header("sec-websocket-accept") is None  # no key/accept on h2
    for msg, op in ((b"hello over h2", TEXT), (bytes(range(256)) * 100, BINARY), (b"", TEXT)):
        ws.send(build_frame(op, msg))
        f = ws.recv_frame()
        data = f.payload
        while not f.fin:
            f = ws.recv_frame()
            data += f.payload
        assert data == msg
    # fragmented with a ping in between
    ws.send(build_frame(TEXT, b"frag-", fin=False) + build_frame(PING, b"p") +
            build_frame(0, b"ment", fin=True))
    f = ws.recv_frame()
    assert (f.opcode, f.payload) == (PONG, b"p"), f
    f = ws.recv_frame()
    assert (f.opcode, f.payload) == (TEXT, b"frag-ment"), f
    # close handshake
    ws.send(build_frame(CLOSE, close_payload(1000, b"done")))
    f = ws.recv_frame()
    assert f.opcode == CLOSE and parse_close(f.payload)[0] == 1000, f
    c.pump(lambda: ws.r.ended or ws.r.reset is not None, timeout=5)
    assert ws.r.ended or ws.r.reset is not None, "stream not finished after the close handshake"
    # the HTTP/2 connection itself stays usable
    r = c.get("/plaintext")
    assert r.status == 200 and bytes(r.body) == b"Hello, World!"


def test_h2c_extended_connect_echo(h2server):
    with H2Client(h2server.port) as c:
        assert_h2_ws_echo(c)


def test_h2_tls_extended_connect_echo(h2server):
    with H2Client(h2server.tls_port, tls=True, ca=h2server.ca) as c:
        assert_h2_ws_echo(c)


def test_h2c_extended_connect_two_streams(h2server):
    with H2Client(h2server.port) as c:
        a, b = H2WS(c), H2WS(c)
        assert a.status == 200 and b.status == 200
        b.send(build_frame(TEXT, b"to b"))
        a.send(build_frame(TEXT, b"to a"))
        assert a.recv_frame().payload == b"to a"
        assert b.recv_frame().payload == b"to b"


def test_h2c_extended_connect_protocol_error_is_1002(h2server):
    with H2Client(h2server.port) as c:
        ws = H2WS(c)
        assert ws.status == 200
        ws.send(build_frame(TEXT, b"unmasked", mask=False))
        f = ws.recv_frame()
        assert f.opcode == CLOSE and parse_close(f.payload)[0] == 1002, f
        r = c.get("/plaintext")
        assert r.status == 200


def test_h2c_extended_connect_heartbeat_unanswered_closes_1001(make_server):
    """A WebSocket on an HTTP/2 stream has no connection clock of its own: its
    heartbeat runs on the per-thread socket ticker (HTTP/1.1 sockets are ticked
    by their connection). Unanswered pings end it with 1001 "ping timeout"."""
    srv = make_server("--ws-ping-interval", "1", "--drain-timeout", "3", tls=False)
    with H2Client(srv.port) as c:
        ws = H2WS(c)
        assert ws.status == 200
        pings = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            f = ws.recv_frame(timeout=max(0.1, deadline - time.monotonic()))
            if f.opcode == PING:
                pings += 1  # never answered
                continue
            assert f.opcode == CLOSE, f
            assert parse_close(f.payload) == (1001, b"ping timeout"), f
            break
        else:
            pytest.fail("no close frame within 6 s")
        assert pings >= 1, "server never pinged"
        # the HTTP/2 connection itself stays usable
        assert c.get("/plaintext").status == 200


def test_h2c_extended_connect_without_version_is_426(h2server):
    with H2Client(h2server.port) as c:
        ws = H2WS(c, version=None)
        assert ws.status == 426, (ws.r.headers, ws.r.reset)
        assert ws.r.header("sec-websocket-version") == "13", ws.r.headers
        ws = H2WS(c, version="8")
        assert ws.status == 426, (ws.r.headers, ws.r.reset)


def test_h2c_extended_connect_token_and_origin(make_server):
    srv = make_server("--ws-token", "secret", "--drain-timeout", "3", tls=False)
    with H2Client(srv.port) as c:
        assert H2WS(c).status == 401
        assert H2WS(c, extra=[("authorization", "Bearer secret")]).status == 200
        assert H2WS(c, extra=[("authorization", "Bearer secret"),
                              ("origin", "http://evil.example")]).status == 403


def test_h2c_get_to_ws_route_is_405(h2server):
    with H2Client(h2server.port) as c:
        r = c.get("/ws/echo")
        assert r.status == 405, r.headers
        assert r.header("allow") == "CONNECT", r.headers  # RFC 8441 extended CONNECT


def test_h2c_extended_connect_released_on_close(tmp_path):
    """Once the client closed its h2c connection (after an extended CONNECT,
    accepted or refused), nothing is left for the drain to wait for: SIGTERM
    exits 0 well before --drain-timeout."""
    srv = Server(tmp_path, ("--drain-timeout", "8"), tls=False)
    try:
        with H2Client(srv.port) as c:
            ws = H2WS(c)
            assert ws.status == 200
            ws.send(build_frame(CLOSE, close_payload(1000)))
            f = ws.recv_frame()
            assert f.opcode == CLOSE
            assert H2WS(c, version=None).status == 426
        time.sleep(0.3)
        t0 = time.monotonic()
        assert srv.stop(timeout=15) == 0
        took = time.monotonic() - t0
        assert took < 3, f"SIGTERM took {took:.1f}s: the closed h2c connection was held until " \
                         "the drain deadline"
    finally:
        srv.kill()
