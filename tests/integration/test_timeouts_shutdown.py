"""Timeouts (header, idle, body) and graceful shutdown of `trident serve`.

The server's timer ticks once per second, so a 1 s timeout fires within
about 1-2 s; the tests allow a few seconds and never depend on speed beyond
generous bounds.
"""
import http.client
import re
import signal
import socket
import threading
import time

import pytest

from conftest import Server

TIMEOUT = 10.0


@pytest.fixture
def spawn(tmp_path):
    """Servers these tests stop themselves (the shared make_server fixture
    insists the server is still alive at teardown). Whatever is still running
    at teardown is stopped and must exit 0."""
    servers = []

    def make(*extra, tls=True):
        d = tmp_path / f"own{len(servers)}"
        d.mkdir()
        srv = Server(d, extra, tls=tls)
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        if srv.proc.poll() is None:
            code = srv.stop()
            assert code == 0, srv.output()
        else:
            srv.kill()


def connect(port, timeout=TIMEOUT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_close(sock, limit):
    """Read until EOF or `limit` seconds; returns (data, closed, elapsed)."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    out = b""
    while time.monotonic() - t0 < limit:
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return out, True, time.monotonic() - t0
        if not b:
            return out, True, time.monotonic() - t0
        out += b
    return out, False, time.monotonic() - t0


def parse_head(data):
    end = data.find(b"\r\n\r\n")
    assert end >= 0, data
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, data[end + 4:]


def read_head(sock, buf=b"", limit=TIMEOUT):
    """Read until a whole response head is in buf; returns (status, headers, rest)."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    while b"\r\n\r\n" not in buf:
        assert time.monotonic() - t0 < limit, f"no response head after {limit}s: {buf!r}"
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        assert b, f"closed before a response head: {buf!r}"
        buf += b
    return parse_head(buf)


def read_fixed_response(sock, buf=b"", limit=TIMEOUT):
    """One response with content-length; returns (status, headers, body, rest)."""
    status, headers, rest = read_head(sock, buf, limit)
    n = int(headers.get("content-length", "0"))
    t0 = time.monotonic()
    while len(rest) < n:
        assert time.monotonic() - t0 < limit
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        assert b, "closed mid-body"
        rest += b
    return status, headers, rest[:n], rest[n:]


def decode_chunked(body):
    """Decode a chunked body; returns (payload, complete)."""
    out = b""
    while True:
        le = body.find(b"\r\n")
        if le < 0:
            return out, False
        size = int(body[:le].split(b";")[0], 16)
        body = body[le + 2:]
        if size == 0:
            return out, body.startswith(b"\r\n")
        if len(body) < size + 2:
            return out + body[:size], False
        out += body[:size]
        body = body[size + 2:]


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def wait_refused(port, limit=3.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if refused(port):
            return True
        time.sleep(0.05)
    return False


def plaintext_ok(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/plaintext")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"Hello, World!"
    finally:
        conn.close()


def stop_and_check_exit(srv, limit):
    """Wait up to `limit` s for exit after a SIGTERM already sent; returns (code, elapsed)."""
    t0 = time.monotonic()
    code = srv.proc.wait(timeout=limit)
    return code, time.monotonic() - t0


# --------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------

def test_header_timeout_slowloris(make_server):
    s = make_server("--header-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        data, closed, elapsed = read_until_close(c, 6)
    assert closed, f"not closed after {elapsed:.1f}s"
    assert elapsed < 4.5, elapsed
    status, headers, body = parse_head(data)
    assert status == 408
    assert headers.get("connection") == "close"
    assert body.startswith(b"Request Timeout: ")
    plaintext_ok(s.port)


def test_header_timeout_trickle_does_not_extend(make_server):
    """Sending a byte every 300 ms must not keep a head alive past the limit."""
    s = make_server("--header-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"GET /plaintext HTTP/1.1\r\n")
        t0 = time.monotonic()
        closed = False
        data = b""
        while time.monotonic() - t0 < 6:
            try:
                c.sendall(b"X")
            except OSError:
                closed = True
                break
            d, closed, _ = read_until_close(c, 0.3)
            data += d
            if closed:
                break
        elapsed = time.monotonic() - t0
    assert closed, "slowloris trickle kept the connection open"
    assert elapsed < 4.5, elapsed
    if data:
        assert data.startswith(b"HTTP/1.1 408 "), data[:80]


def test_header_timeout_silent_connection(make_server):
    """A connection that sends nothing at all is closed as well."""
    s = make_server("--header-timeout", "1", "--idle-timeout", "1", tls=False)
    with connect(s.port) as c:
        data, closed, elapsed = read_until_close(c, 6)
    assert closed and elapsed < 4.5, elapsed
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data


def test_idle_timeout_fresh_connection(make_server):
    s = make_server("--idle-timeout", "1", tls=False)
    with connect(s.port) as c:
        data, closed, elapsed = read_until_close(c, 6)
    assert closed, "idle connection not closed"
    assert elapsed < 4.5, elapsed
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data


def test_idle_timeout_after_request(make_server):
    s = make_server("--idle-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, body, rest = read_fixed_response(c)
        assert status == 200 and body == b"Hello, World!"
        assert headers.get("connection") != "close"
        data, closed, elapsed = read_until_close(c, 6)
    assert closed, "idle keep-alive connection not closed"
    assert elapsed < 4.5, elapsed
    data = rest + data
    # RFC 9110 allows an unsolicited 408 on an idle connection; nothing else.
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data


def test_idle_timeout_not_applied_while_responding(make_server):
    """A response in progress (slow stream) is not cut by the idle timeout."""
    s = make_server("--idle-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"GET /stream?n=4&interval_ms=900 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data, closed, elapsed = read_until_close(c, 15)
    assert closed
    status, headers, body = parse_head(data)
    assert status == 200
    payload, complete = decode_chunked(body)
    assert complete, body
    assert payload == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\n"


def test_keep_alive_survives_short_pause(make_server):
    s = make_server("--idle-timeout", "5", tls=False)
    with connect(s.port) as c:
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        st, _, body, rest = read_fixed_response(c)
        assert st == 200
        time.sleep(1.0)
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        st, _, body, rest = read_fixed_response(c, rest)
        assert st == 200 and body == b"Hello, World!"


def test_body_timeout(make_server):
    s = make_server("--body-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        data, closed, elapsed = read_until_close(c, 6)
    assert closed, f"not closed after {elapsed:.1f}s: {data!r}"
    assert elapsed < 4.5, elapsed
    # The echo handler may already have started its 200 response with the
    # first 10 bytes; then the only honest signal is closing before the
    # declared 100 bytes. If no response has started, it is a 408.
    status, headers, body = parse_head(data)
    if status == 200:
        assert headers.get("content-length") == "100"
        assert len(body) < 100
    else:
        assert status == 408
        assert headers.get("connection") == "close"
        assert body.startswith(b"Request Timeout: ")
    plaintext_ok(s.port)


def test_body_timeout_before_any_body_byte(make_server):
    s = make_server("--body-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
        data, closed, elapsed = read_until_close(c, 6)
    assert closed and elapsed < 4.5, elapsed
    status, headers, body = parse_head(data)
    assert status == 408
    assert headers.get("connection") == "close"
    assert body.startswith(b"Request Timeout: ") and body.endswith(b"\n")
    plaintext_ok(s.port)


def test_body_timeout_chunked(make_server):
    s = make_server("--body-timeout", "1", tls=False)
    with connect(s.port) as c:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        data, closed, elapsed = read_until_close(c, 6)
    assert closed and elapsed < 4.5, elapsed
    status, headers, body = parse_head(data)
    assert status == 408 and headers.get("connection") == "close"


def test_body_trickle_within_timeout_succeeds(make_server):
    """--body-timeout counts seconds without body bytes, not the whole body."""
    s = make_server("--body-timeout", "2", tls=False)
    with connect(s.port) as c:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n")
        for i in range(8):
            time.sleep(0.4)
            c.sendall(b"%d" % i)
        data = b""
        st, headers, body, rest = read_fixed_response(c)
    assert st == 200 and body == b"01234567"


# --------------------------------------------------------------------------
# Graceful shutdown
# --------------------------------------------------------------------------

def test_graceful_shutdown_completes_in_flight_stream(spawn):
    s = spawn("--drain-timeout", "10")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"GET /stream?n=5&interval_ms=300 HTTP/1.1\r\nHost: a\r\n\r\n")
        status, headers, rest = read_head(c)
        assert status == 200 and headers.get("transfer-encoding") == "chunked"
        s.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        # (a) listeners close promptly: new connections are refused.
        assert wait_refused(s.port, 3.0), "plaintext listener still accepting during drain"
        assert wait_refused(s.tls_port, 3.0), "TLS listener still accepting during drain"
        # (b) the in-flight stream completes with all chunks and the terminator.
        more, closed, _ = read_until_close(c, 10)
        body = rest + more
        payload, complete = decode_chunked(body)
        assert payload == b"".join(b"chunk %d\n" % i for i in range(5)), body
        assert complete, f"stream not terminated: {body!r}"
        assert closed, "connection not closed after the in-flight response during drain"
    finally:
        c.close()
    # (c) exit 0, without waiting for the drain deadline.
    code = s.proc.wait(timeout=10)
    assert code == 0, s.output()
    assert time.monotonic() - t0 < 8, "exit waited for the drain deadline"


def test_shutdown_idle_server_exits_fast(spawn):
    s = spawn("--drain-timeout", "10")
    plaintext_ok(s.port)
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    code = s.proc.wait(timeout=10)
    assert code == 0
    assert time.monotonic() - t0 < 3


def test_shutdown_closes_idle_keep_alive_promptly(spawn):
    """An idle keep-alive connection must not hold up exit until the deadline."""
    s = spawn("--drain-timeout", "10", "--idle-timeout", "60")
    c = connect(s.port)
    try:
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        st, _, _, rest = read_fixed_response(c)
        assert st == 200
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=12)
        elapsed = time.monotonic() - t0
    finally:
        c.close()
    assert code == 0
    assert elapsed < 5, f"idle keep-alive connection held shutdown for {elapsed:.1f}s"


def test_drain_keep_alive_gets_connection_close_and_healthz_503(spawn):
    s = spawn("--drain-timeout", "10", "--idle-timeout", "60")
    slow = connect(s.port, timeout=20)
    ka1 = connect(s.port)
    ka2 = connect(s.port)
    try:
        # Two keep-alive connections, each having finished one request.
        for c in (ka1, ka2):
            c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
            st, h, body, rest = read_fixed_response(c)
            assert st == 200 and rest == b"" and h.get("connection") != "close"
        # A slow in-flight request keeps the server draining for ~4 s.
        slow.sendall(b"GET /stream?n=9&interval_ms=500 HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, slow_rest = read_head(slow)
        assert st == 200
        s.proc.send_signal(signal.SIGTERM)
        assert wait_refused(s.port, 3.0)
        # Request on an existing keep-alive connection during drain.
        ka1.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, body, rest = read_fixed_response(ka1)
        assert st == 200 and body == b"Hello, World!"
        assert h.get("connection") == "close"
        more, closed, _ = read_until_close(ka1, 5)
        assert closed and rest + more == b""
        # Health check during drain reports 503.
        ka2.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, body, rest = read_fixed_response(ka2)
        assert st == 503
        assert body == b"draining\n"
        assert h.get("connection") == "close"
        more, closed, _ = read_until_close(ka2, 5)
        assert closed
        # Meanwhile the slow stream finishes completely.
        more, closed, _ = read_until_close(slow, 15)
        payload, complete = decode_chunked(slow_rest + more)
        assert complete and payload == b"".join(b"chunk %d\n" % i for i in range(9))
    finally:
        for c in (slow, ka1, ka2):
            c.close()
    assert s.proc.wait(timeout=12) == 0


def test_drain_pipelined_requests_answered_then_closed(spawn):
    """Requests already received when the drain starts are answered; the last
    one says connection: close and nothing after it is read."""
    s = spawn("--drain-timeout", "10")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"GET /stream?n=4&interval_ms=400 HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, rest = read_head(c)
        assert st == 200
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        c.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
        more, closed, _ = read_until_close(c, 10)
        assert closed
        data = rest + more
        # The stream completes; then at most one more response, with close.
        payload, complete = decode_chunked(data)
        assert complete and payload == b"".join(b"chunk %d\n" % i for i in range(4))
        tail = data[data.find(b"0\r\n\r\n") + 5:]
        if tail:
            st2, h2, body2 = parse_head(tail)
            assert st2 == 200 and h2.get("connection") == "close"
            assert body2 == b"Hello, World!"
    finally:
        c.close()
    assert s.proc.wait(timeout=12) == 0


def test_drain_deadline_cuts_long_request(spawn):
    s = spawn("--drain-timeout", "1")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"GET /stream?n=100&interval_ms=200 HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, rest = read_head(c)
        assert st == 200
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
        assert code == 0, s.output()
        assert elapsed < 3.5, f"exit took {elapsed:.1f}s with --drain-timeout 1"
        more, closed, _ = read_until_close(c, 3)
        assert closed
        payload, complete = decode_chunked(rest + more)
        # Cut off: no terminating chunk, so the client can tell it was truncated.
        assert not complete
        assert len(payload) < len(b"".join(b"chunk %d\n" % i for i in range(100)))
    finally:
        c.close()


def test_drain_deadline_cuts_stalled_upload(spawn):
    """A client that never finishes its body cannot hold shutdown past the deadline."""
    s = spawn("--drain-timeout", "1", "--body-timeout", "60")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
        time.sleep(0.3)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=10)
        assert code == 0
        assert time.monotonic() - t0 < 3.5
    finally:
        c.close()


def test_second_sigterm_or_sigint_still_exits_zero(spawn):
    s = spawn("--drain-timeout", "2")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"GET /stream?n=100&interval_ms=200 HTTP/1.1\r\nHost: a\r\n\r\n")
        read_head(c)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=10)
        assert code == 0
    finally:
        c.close()


def test_sigint_graceful(spawn):
    s = spawn("--drain-timeout", "10")
    c = connect(s.port, timeout=15)
    try:
        c.sendall(b"GET /stream?n=3&interval_ms=300 HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, rest = read_head(c)
        s.proc.send_signal(signal.SIGINT)
        more, closed, _ = read_until_close(c, 10)
        payload, complete = decode_chunked(rest + more)
        assert complete and payload == b"chunk 0\nchunk 1\nchunk 2\n"
    finally:
        c.close()
    assert s.proc.wait(timeout=12) == 0


def test_tls_in_flight_completes_on_shutdown(spawn):
    import ssl
    s = spawn("--drain-timeout", "10")
    ctx = ssl.create_default_context(cafile=s.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = connect(s.tls_port, timeout=15)
    c = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        c.sendall(b"GET /stream?n=4&interval_ms=300 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        st, h, rest = read_head(c)
        assert st == 200
        s.proc.send_signal(signal.SIGTERM)
        more = b""
        c.settimeout(10)
        while True:
            try:
                b = c.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not b:
                break
            more += b
            if b"0\r\n\r\n" in rest + more:
                break
        payload, complete = decode_chunked(rest + more)
        assert complete and payload == b"".join(b"chunk %d\n" % i for i in range(4))
    finally:
        c.close()
    assert s.proc.wait(timeout=12) == 0
