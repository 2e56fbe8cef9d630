"""HTTP/1.1 (and 1.0) behaviour of `trident serve`, seen by real peers.

Peers: curl (plain and TLS), Python's http.client, and raw sockets for the
byte-exact cases (pipelining, HEAD framing, 100-continue, HTTP/1.0).
"""
import email.utils
import http.client
import os
import re
import socket
import subprocess
import time

import pytest

import conftest

TIMEOUT = 10.0


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def connect(port, timeout=TIMEOUT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_close(sock, timeout=TIMEOUT):
    return conftest.read_until_close(sock, timeout)


class Response:
    def __init__(self, version, status, reason, headers, body, chunked):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lower-name, value)
        self.body = body
        self.chunked = chunked

    def get(self, name):
        vals = [v for k, v in self.headers if k == name.lower()]
        assert len(vals) <= 1, f"header {name} repeated: {vals}"
        return vals[0] if vals else None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


class Incomplete(Exception):
    pass


def parse_response(buf, head_request=False, until_close=False):
    """Parse one response at the start of buf; returns (Response, rest).

    Raises Incomplete if buf does not hold a whole response yet.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        raise Incomplete()
    head = buf[:end].decode("latin-1")
    rest = buf[end + 4:]
    lines = head.split("\r\n")
    m = re.fullmatch(r"(HTTP/\d\.\d) (\d{3}) ?(.*)", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    version, status, reason = m.group(1), int(m.group(2)), m.group(3)
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        assert sep and name == name.strip() and name, f"bad header line {line!r}"
        headers.append((name.lower(), value.strip()))
    r = Response(version, status, reason, headers, b"", False)
    if head_request or status in (204, 304) or 100 <= status < 200:
        return r, rest
    te = r.get("transfer-encoding")
    cl = r.get("content-length")
    if te is not None:
        assert te.lower() == "chunked", te
        assert cl is None, "response carries both content-length and transfer-encoding"
        r.chunked = True
        body = b""
        while True:
            le = rest.find(b"\r\n")
            if le < 0:
                raise Incomplete()
            size_line = rest[:le].decode("latin-1")
            size = int(size_line.split(";")[0].strip(), 16)
            rest = rest[le + 2:]
            if size == 0:
                # trailers (none expected) then CRLF
                te_end = rest.find(b"\r\n")
                if te_end < 0:
                    raise Incomplete()
                if te_end != 0:
                    tend = rest.find(b"\r\n\r\n")
                    if tend < 0:
                        raise Incomplete()
                    rest = rest[tend + 4:]
                else:
                    rest = rest[2:]
                break
            if len(rest) < size + 2:
                raise Incomplete()
            body += rest[:size]
            assert rest[size:size + 2] == b"\r\n", "chunk data not followed by CRLF"
            rest = rest[size + 2:]
        r.body = body
        return r, rest
    if cl is not None:
        n = int(cl)
        if len(rest) < n:
            raise Incomplete()
        r.body = rest[:n]
        return r, rest[n:]
    if until_close:
        r.body = rest
        return r, b""
    # No framing: a response delimited by close.
    raise Incomplete()


def pipelined(port, reqs, head_requests=()):
    """Sends `reqs` in one write, reads until the server closes, and parses
    every response; returns (responses, closed). `head_requests` holds the
    indexes of HEAD requests (their responses have no body)."""
    with connect(port) as s:
        s.sendall(reqs)
        data, closed = read_until_close(s)
    out = []
    rest = data
    while rest:
        r, rest = parse_response(rest, head_request=len(out) in head_requests)
        out.append(r)
    return out, closed


def read_response(sock, buf=b"", head_request=False, timeout=TIMEOUT):
    """Read exactly one response from sock; returns (Response, leftover)."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    buf = bytearray(buf)
    # Re-parsing the whole buffer after every recv is quadratic for a
    # multi-megabyte response: past 64 KiB, re-parse only when the declared
    # length is reached, the bytes end like a chunked body, or the buffer doubled.
    parse_at = 0
    while True:
        need = parse_at
        end = buf.find(b"\r\n\r\n")
        if end >= 0 and not head_request:
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", bytes(buf[:end]))
            if m:
                need = min(need, end + 4 + int(m.group(1)))
        if len(buf) < 65536 or len(buf) >= need or buf.endswith(b"\r\n\r\n"):
            try:
                return parse_response(bytes(buf), head_request=head_request)
            except Incomplete:
                parse_at = 2 * len(buf)
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for a response; have {len(buf)} bytes: "
                                 f"{bytes(buf[:300])!r}...")
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        if not b:
            try:
                return parse_response(bytes(buf), head_request=head_request)
            except Incomplete:
                raise AssertionError(f"connection closed before a whole response; have "
                                     f"{len(buf)} bytes: {bytes(buf[:300])!r}...")
        buf += b


def curl(*args, timeout=60):
    """Run curl; returns CompletedProcess (stdout bytes)."""
    return subprocess.run(["curl", "-sS", "--max-time", "30", *args],
                          capture_output=True, timeout=timeout)


def curl_response(*args):
    """curl -i style: returns (status, headers dict lower->value, body)."""
    p = curl("-i", *args)
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout
    # Skip any interim 1xx responses curl prints.
    while True:
        end = out.find(b"\r\n\r\n")
        assert end >= 0, out
        head = out[:end].decode("latin-1").split("\r\n")
        out = out[end + 4:]
        status = int(head[0].split()[1])
        if not 100 <= status < 200:
            break
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    return head[0], status, hdrs, out


def plaintext_ok(port):
    """A fresh client gets 200 Hello, World! on /plaintext."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/plaintext")
        r = conn.getresponse()
        assert r.status == 200
        assert r.read() == b"Hello, World!"
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Routes via curl, plain and TLS
# --------------------------------------------------------------------------

def _base(server, scheme):
    if scheme == "http":
        return server.url, []
    return server.tls_url, ["--cacert", server.ca]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_plaintext_route(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, base + "/plaintext")
    assert line == "HTTP/1.1 200 OK"
    assert body == b"Hello, World!"
    assert h["content-type"] == "text/plain"
    assert h["content-length"] == "13"
    assert h["server"] == "trident"
    assert "date" in h


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_echo_route(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, "-H", "Content-Type: application/x-test",
                                          "--data-binary", "hello trident", base + "/echo")
    assert status == 200
    assert body == b"hello trident"
    assert h["content-type"] == "application/x-test"
    assert h["content-length"] == "13"
    assert "transfer-encoding" not in h


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_echo_empty_body(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, "-X", "POST", base + "/echo")
    assert status == 200
    assert body == b""
    assert h.get("content-length") == "0"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_stream_route(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, "--raw", base + "/stream?n=4")
    assert status == 200
    assert h["transfer-encoding"] == "chunked"
    assert "content-length" not in h
    assert h["cache-control"] == "no-store"
    # --raw keeps the chunked framing: one chunk per write, then 0-chunk.
    expected = b"".join(b"%x\r\nchunk %d\n\r\n" % (len(b"chunk %d\n" % i), i) for i in range(4)) + b"0\r\n\r\n"
    assert body == expected


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_index_route(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, base + "/")
    assert status == 200
    assert h["content-type"] == "text/html; charset=utf-8"
    assert body.startswith(b"<!doctype html>")
    assert int(h["content-length"]) == len(body)
    assert re.fullmatch(r'(W/)?"[^"]+"', h["etag"]), h["etag"]
    assert "max-age=60" in h["cache-control"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_healthz_route(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, base + "/healthz")
    assert status == 200
    assert body == b"ok\n"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_not_found(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, base + "/no/such/thing")
    assert line == "HTTP/1.1 404 Not Found"
    assert int(h["content-length"]) == len(body)


def test_direct_response_same_on_every_wire(server):
    """/plaintext is a direct response: the HTTP/1.1 session writes it itself,
    HTTP/2 answers it through the handler chain. A client must not be able
    to tell: same status, fields and body on h1, h2c and h2 over TLS."""
    seen = {}
    for name, args in (("h1", ["--http1.1", server.url]),
                       ("h2c", ["--http2-prior-knowledge", server.url]),
                       ("h2", ["--http2", "--cacert", server.ca, server.tls_url])):
        line, status, h, body = curl_response(*args[:-1], args[-1] + "/plaintext?x=1")
        assert status == 200, (name, line)
        h.pop("date")
        seen[name] = (h, body)
    assert seen["h1"] == seen["h2c"] == seen["h2"]
    assert seen["h1"] == ({"server": "trident", "content-type": "text/plain",
                           "content-length": "13"}, b"Hello, World!")
    # A path that differs in any byte is not the direct one.
    for path in ("/plaintext/", "/Plaintext", "/plaintext%20"):
        line, status, h, body = curl_response("--http1.1", server.url + path)
        assert status == 404, (path, line)


def test_direct_response_with_a_request_body(server):
    """A body sent to a direct path is skipped, not taken for the next request."""
    reqs = (b"GET /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n"
            b"GET /nope HTTP/1.1\r\n"
            b"POST /plaintext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n"
            b"HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out, closed = pipelined(server.port, reqs, head_requests=(2,))
    assert closed
    assert [r.status for r in out] == [200, 405, 200, 200], out
    assert out[0].body == b"Hello, World!"
    assert out[1].get("allow") == "GET, HEAD"
    assert out[2].body == b"" and out[2].get("content-length") == "13"
    assert out[3].body == b"Hello, World!" and out[3].get("connection") == "close"


def test_respond_flag_adds_direct_responses(make_server):
    """`--respond` gives operator-defined fixed answers on every wire, before
    any route: a new path, one that shadows a route, and the demo's own."""
    srv = make_server("--respond", r"GET /robots.txt 200 User-agent: *\nDisallow: /private",
                      "--respond", "GET /healthz 503",
                      "--respond", "GET /plaintext 200 overridden")
    for args in (["--http1.1", srv.url], ["--http2-prior-knowledge", srv.url],
                 ["--http2", "--cacert", srv.ca, srv.tls_url]):
        line, status, h, body = curl_response(*args[:-1], args[-1] + "/robots.txt")
        assert status == 200, (args, line)
        assert body == b"User-agent: *\nDisallow: /private", body
        assert h["content-type"] == "text/plain; charset=utf-8", h
        line, status, h, body = curl_response(*args[:-1], args[-1] + "/healthz")
        assert status == 503 and body == b"" and h["content-length"] == "0", (args, line, h)
        line, status, h, body = curl_response(*args[:-1], args[-1] + "/plaintext")
        assert status == 200 and body == b"overridden", (args, line, body)
    line, status, h, body = curl_response("--http1.1", "-X", "POST", srv.url + "/robots.txt")
    assert status == 405 and h["allow"] == "GET, HEAD", (line, h)
    line, status, h, body = curl_response("--http1.1", srv.url + "/hello")
    assert status == 200 and body == b"Hello, World!"  # routes not named still served


@pytest.mark.parametrize("spec, says", [
    ("GET /a", b"no status"),
    ("GET /a 20x", b"three digits"),
    ("GET a 200", b"origin-form"),
    ("GET /a 204 body", b"no body"),
])
def test_respond_flag_rejects_malformed_lines(spec, says, tmp_path):
    r = subprocess.run([conftest.TRIDENT, "serve", "--no-tls", "--plaintext",
                        "127.0.0.1:%d" % conftest.free_port(), "--state-dir", str(tmp_path),
                        "--respond", spec], capture_output=True, timeout=10)
    assert r.returncode == 2, r
    assert b"--respond '" + spec.encode() + b"'" in r.stderr and says in r.stderr, r.stderr


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_method_not_allowed(server, scheme):
    base, extra = _base(server, scheme)
    line, status, h, body = curl_response("--http1.1", *extra, "-X", "POST", "--data-binary", "x",
                                          base + "/plaintext")
    assert line == "HTTP/1.1 405 Method Not Allowed"
    assert h["allow"] == "GET, HEAD"
    line, status, h, body = curl_response("--http1.1", *extra, base + "/echo")
    assert status == 405
    assert h["allow"] == "POST"
    line, status, h, body = curl_response("--http1.1", *extra, "-X", "DELETE", base + "/stream")
    assert status == 405
    assert h["allow"] == "GET, HEAD"


def test_tls_uses_http11_when_asked(server):
    p = curl("--http1.1", "--cacert", server.ca, "-o", "/dev/null", "-w", "%{http_version}",
             server.tls_url + "/plaintext")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"1.1"


# --------------------------------------------------------------------------
# Persistent connections and pipelining
# --------------------------------------------------------------------------

def test_keep_alive_two_requests_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/plaintext")
        r1 = conn.getresponse()
        assert r1.status == 200 and r1.read() == b"Hello, World!"
        assert r1.getheader("connection") is None or r1.getheader("connection").lower() != "close"
        sock1 = conn.sock
        assert sock1 is not None
        local1 = sock1.getsockname()
        conn.request("POST", "/echo", body=b"second", headers={"Content-Type": "text/plain"})
        r2 = conn.getresponse()
        assert r2.status == 200 and r2.read() == b"second"
        # Same TCP connection was reused.
        assert conn.sock is sock1 and conn.sock.getsockname() == local1
        conn.request("GET", "/stream?n=2")
        r3 = conn.getresponse()
        assert r3.status == 200 and r3.read() == b"chunk 0\nchunk 1\n"
        assert conn.sock is sock1
    finally:
        conn.close()


def test_keep_alive_tls_two_requests(server):
    import ssl
    ctx = ssl.create_default_context(cafile=server.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    conn = http.client.HTTPSConnection("localhost", server.tls_port, timeout=TIMEOUT, context=ctx)
    try:
        conn.request("GET", "/plaintext")
        r1 = conn.getresponse()
        assert r1.status == 200 and r1.read() == b"Hello, World!"
        sock1 = conn.sock
        conn.request("GET", "/healthz")
        r2 = conn.getresponse()
        assert r2.status == 200 and r2.read() == b"ok\n"
        assert conn.sock is sock1
    finally:
        conn.close()


def test_pipelining_in_order(server):
    reqs = (b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst"
            b"GET /stream?n=3 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out, closed = pipelined(server.port, reqs)
    assert closed, "server should close after the Connection: close request"
    assert [r.status for r in out] == [200, 200, 200, 404, 200, 200]
    assert out[0].body == b"Hello, World!"
    assert out[1].body == b"first"
    assert out[2].body == b"chunk 0\nchunk 1\nchunk 2\n" and out[2].chunked
    assert out[4].body == b"second" and out[4].chunked
    assert out[5].body == b"ok\n"
    assert out[5].get("connection") == "close"
    for r in out[:5]:
        assert (r.get("connection") or "").lower() != "close"


def test_pipelining_many_small_requests(server):
    n = 50
    got, closed = pipelined(
        server.port,
        b"".join(b"GET /stream?n=1&i=%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(n))
        + b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert closed
    assert len(got) == n + 1
    assert all(r.status == 200 and r.body == b"chunk 0\n" for r in got[:n])
    assert got[n].body == b"Hello, World!"


def test_pipelined_request_split_across_writes(server):
    """A request head delivered byte by byte is still parsed correctly."""
    req = b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    with connect(server.port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(req)):
            s.sendall(req[i:i + 1])
            if i % 16 == 0:
                time.sleep(0.005)
        r1, rest = read_response(s)
        r2, rest = read_response(s, rest)
    assert r1.status == 200 and r1.body == b"Hello, World!"
    assert r2.status == 200 and r2.body == b"abc"


# --------------------------------------------------------------------------
# HTTP/1.0
# --------------------------------------------------------------------------

def test_http10_closes_without_keep_alive(server):
    with connect(server.port) as s:
        s.sendall(b"GET /plaintext HTTP/1.0\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r, rest = parse_response(data)
    assert r.status == 200 and r.body == b"Hello, World!"
    assert rest == b""
    assert r.version == "HTTP/1.1"
    assert (r.get("connection") or "").lower() == "close"


def test_http10_keep_alive_kept_open(server):
    with connect(server.port) as s:
        s.sendall(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r1, rest = read_response(s)
        assert r1.status == 200 and r1.body == b"Hello, World!"
        assert rest == b""
        # An HTTP/1.0 client only keeps the connection if told so.
        assert (r1.get("connection") or "").lower() == "keep-alive"
        s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r2, rest = read_response(s, rest)
        assert r2.status == 200 and r2.body == b"ok\n"
        s.sendall(b"GET /plaintext HTTP/1.0\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r3, rest = parse_response(rest + data)
    assert r3.status == 200 and r3.body == b"Hello, World!"


def test_http10_stream_is_not_chunked(server):
    """Chunked coding must not be sent to an HTTP/1.0 client; close delimits."""
    with connect(server.port) as s:
        s.sendall(b"GET /stream?n=3 HTTP/1.0\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    end = data.find(b"\r\n\r\n")
    head = data[:end].decode("latin-1").lower()
    assert head.startswith("http/1.1 200 ")
    assert "transfer-encoding" not in head
    assert data[end + 4:] == b"chunk 0\nchunk 1\nchunk 2\n"


def test_http11_connection_close_honoured(server):
    with connect(server.port) as s:
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r, rest = parse_response(data)
    assert r.status == 200 and r.get("connection") == "close" and rest == b""


# --------------------------------------------------------------------------
# HEAD, 100-continue, chunked bodies, streaming, big bodies
# --------------------------------------------------------------------------

def test_head_plaintext(server):
    with connect(server.port) as s:
        # A HEAD followed by a pipelined GET: any body bytes after the HEAD
        # response would corrupt the second response.
        s.sendall(b"HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r1, rest = parse_response(data, head_request=True)
    assert r1.status == 200
    assert r1.get("content-length") == "13"
    assert r1.get("content-type") == "text/plain"
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), rest[:60]
    r2, rest = parse_response(rest)
    assert r2.body == b"Hello, World!" and rest == b""


def test_head_with_curl(server):
    p = curl("--http1.1", "-I", server.url + "/plaintext")
    assert p.returncode == 0, p.stderr
    assert re.search(rb"(?i)\r\ncontent-length: 13\r\n", p.stdout)
    assert p.stdout.endswith(b"\r\n\r\n")


def test_head_stream_has_no_body(server):
    with connect(server.port) as s:
        s.sendall(b"HEAD /stream?n=3 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r1, rest = parse_response(data, head_request=True)
    assert r1.status == 200
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), rest[:60]
    r2, rest = parse_response(rest)
    assert r2.body == b"Hello, World!" and rest == b""


def test_expect_100_continue(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        buf = b""
        s.settimeout(TIMEOUT)
        while b"\r\n\r\n" not in buf:
            b = s.recv(4096)
            assert b, f"closed before 100 Continue: {buf!r}"
            buf += b
        interim, _, rest = buf.partition(b"\r\n\r\n")
        assert interim == b"HTTP/1.1 100 Continue"
        assert rest == b"", "final response must not precede the body"
        s.sendall(b"hello world")
        r, rest = read_response(s, rest)
        assert r.status == 200 and r.body == b"hello world"
        # connection still usable
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        r2, rest = read_response(s, rest)
        assert r2.body == b"Hello, World!"


def test_expect_100_continue_with_curl(server, tmp_path):
    f = tmp_path / "body.bin"
    payload = os.urandom(2 * 1024 * 1024)
    f.write_bytes(payload)
    out = tmp_path / "out.bin"
    p = curl("--http1.1", "-H", "Expect: 100-continue", "--data-binary", f"@{f}", "-o", str(out),
             "-w", "%{http_code}", server.url + "/echo")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"200"
    assert out.read_bytes() == payload


def test_no_100_continue_without_expect(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        r, rest = read_response(s)
    assert r.status == 200 and r.body == b"abc"


def test_chunked_request_body_echoed(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: text/plain\r\n\r\n"
                  b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
        r, rest = read_response(s)
        assert r.status == 200
        assert r.body == b"hello 0123456789"
        # Without a request content-length, the echo is chunked.
        assert r.chunked and r.get("content-length") is None
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        r2, rest = read_response(s, rest)
        assert r2.body == b"Hello, World!"


def test_chunked_request_uppercase_hex(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"1A\r\n" + b"z" * 26 + b"\r\n0\r\n\r\n")
        r, rest = read_response(s)
    assert r.status == 200 and r.body == b"z" * 26


def test_chunked_echo_with_curl(server, tmp_path):
    payload = os.urandom(300_000)
    f = tmp_path / "in.bin"
    f.write_bytes(payload)
    out = tmp_path / "out.bin"
    p = curl("--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{f}",
             "-o", str(out), "-w", "%{http_code}", server.url + "/echo")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"200"
    assert out.read_bytes() == payload


def test_stream_chunks_exact(server):
    n = 7
    with connect(server.port) as s:
        s.sendall(b"GET /stream?n=%d&interval_ms=20 HTTP/1.1\r\nHost: a\r\n\r\n" % n)
        r, rest = read_response(s)
    assert r.status == 200
    assert r.chunked
    assert r.body == b"".join(b"chunk %d\n" % i for i in range(n))


def test_stream_chunk_boundaries(server):
    """Each produced chunk is its own chunk on the wire, terminated by 0-chunk."""
    with connect(server.port) as s:
        s.sendall(b"GET /stream?n=3&interval_ms=50&size=20 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    body = data[data.find(b"\r\n\r\n") + 4:]
    parts = [b"chunk %d\n" % i for i in range(3)]
    parts = [p + b"." * (20 - len(p)) for p in parts]
    assert body == b"".join(b"14\r\n" + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def test_stream_zero_chunks(server):
    with connect(server.port) as s:
        s.sendall(b"GET /stream?n=0 HTTP/1.1\r\nHost: a\r\n\r\n")
        r, rest = read_response(s)
    assert r.status == 200 and r.body == b""


def test_large_echo_5mb(server, tmp_path):
    payload = os.urandom(5 * 1024 * 1024)
    f = tmp_path / "big.bin"
    f.write_bytes(payload)
    out = tmp_path / "big.out"
    p = curl("--http1.1", "-H", "Content-Type: application/octet-stream", "--data-binary", f"@{f}",
             "-o", str(out), "-w", "%{http_code} %{size_download}", server.url + "/echo")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"200 %d" % len(payload)
    assert out.read_bytes() == payload


def test_large_echo_5mb_tls(server, tmp_path):
    payload = os.urandom(5 * 1024 * 1024)
    f = tmp_path / "big.bin"
    f.write_bytes(payload)
    out = tmp_path / "big.out"
    p = curl("--http1.1", "--cacert", server.ca, "--data-binary", f"@{f}",
             "-o", str(out), "-w", "%{http_code}", server.tls_url + "/echo")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"200"
    assert out.read_bytes() == payload


def test_large_echo_slow_reader(server):
    """Echo of 4 MB while the client does not read until it has sent everything."""
    payload = bytes(range(256)) * (4 * 4096)
    with connect(server.port, timeout=30) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(payload))
        # Send from a thread so a server applying backpressure cannot deadlock us.
        import threading
        err = []

        def send():
            try:
                s.sendall(payload)
            except OSError as e:  # pragma: no cover
                err.append(e)
        t = threading.Thread(target=send)
        t.start()
        time.sleep(0.5)
        r, rest = read_response(s, timeout=30)
        t.join(10)
    assert not err
    assert r.status == 200 and r.body == payload


def test_large_stream(server):
    with connect(server.port, timeout=30) as s:
        s.sendall(b"GET /stream?n=200&size=65536 HTTP/1.1\r\nHost: a\r\n\r\n")
        r, rest = read_response(s, timeout=30)
    assert r.status == 200 and len(r.body) == 200 * 65536
    assert r.body[:8] == b"chunk 0\n" and r.body[-65536:].startswith(b"chunk 199\n")


# --------------------------------------------------------------------------
# Caching, headers, request-target forms
# --------------------------------------------------------------------------

def test_etag_304(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200
        etag = r.getheader("etag")
        assert etag
        conn.request("GET", "/", headers={"If-None-Match": etag})
        r2 = conn.getresponse()
        assert r2.status == 304
        assert r2.read() == b""
        assert r2.getheader("etag") == etag
        assert "max-age=60" in (r2.getheader("cache-control") or "")
        conn.request("GET", "/", headers={"If-None-Match": '"something-else"'})
        r3 = conn.getresponse()
        assert r3.status == 200 and r3.read() == body
        conn.request("GET", "/", headers={"If-None-Match": f'"x", {etag}'})
        r4 = conn.getresponse()
        assert r4.status == 304 and r4.read() == b""
        conn.request("GET", "/", headers={"If-None-Match": "*"})
        r5 = conn.getresponse()
        assert r5.status == 304 and r5.read() == b""
        # If-None-Match uses the weak comparison.
        weak = etag if etag.startswith("W/") else "W/" + etag
        conn.request("GET", "/", headers={"If-None-Match": weak})
        r6 = conn.getresponse()
        assert r6.status == 304 and r6.read() == b""
    finally:
        conn.close()


def test_304_has_no_body_on_wire(server):
    with connect(server.port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        r, rest = read_response(s)
        etag = r.get("etag").encode()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: " + etag + b"\r\n\r\n"
                  b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    r1, rest = parse_response(rest + data)
    assert r1.status == 304
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), rest[:80]
    r2, rest = parse_response(rest)
    assert r2.body == b"Hello, World!" and rest == b""


def test_date_and_server_headers(server):
    with connect(server.port) as s:
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /stream?n=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(s)
    assert closed
    rest = data
    for _ in range(3):
        r, rest = parse_response(rest)
        assert r.get("server") == "trident"
        date = r.get("date")
        assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                            r" \d{4} \d\d:\d\d:\d\d GMT", date), date
        ts = email.utils.parsedate_to_datetime(date).timestamp()
        assert abs(ts - time.time()) < 120
    assert rest == b""


def test_absolute_form_request_target(server):
    host = f"127.0.0.1:{server.port}".encode()
    with connect(server.port) as s:
        s.sendall(b"GET http://" + host + b"/plaintext HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
                  b"GET http://" + host + b"/stream?n=2 HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        r1, rest = read_response(s)
        r2, rest = read_response(s, rest)
    assert r1.status == 200 and r1.body == b"Hello, World!"
    assert r2.status == 200 and r2.body == b"chunk 0\nchunk 1\n"


def test_query_string_ignored_for_routing(server):
    p = curl("--http1.1", "-w", "%{http_code}", server.url + "/plaintext?x=1&y=2")
    assert p.stdout == b"Hello, World!200"


def test_header_names_case_insensitive(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nhOsT: a\r\ncOnTeNt-LeNgTh: 4\r\nCONTENT-TYPE: x/y\r\n\r\nabcd")
        r, rest = read_response(s)
    assert r.status == 200 and r.body == b"abcd"
    assert r.get("content-type") == "x/y"


def test_optional_whitespace_around_header_values(server):
    with connect(server.port) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost:a\r\nContent-Length: \t 3 \t\r\n\r\nxyz")
        r, rest = read_response(s)
    assert r.status == 200 and r.body == b"xyz"


def test_server_survives_many_connections(server):
    for _ in range(100):
        with connect(server.port) as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            data, closed = read_until_close(s)
        assert closed and data.endswith(b"Hello, World!")
    plaintext_ok(server.port)
