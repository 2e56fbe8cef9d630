"""HTTP/2 end to end: real clients (curl, nghttp, h2load) and the `h2`
library against h2c (prior knowledge and Upgrade) and h2 over TLS."""
import os
import re
import subprocess

import pytest

from h2client import DATA, H2Client, HEADERS, RawH2, assert_healthy, request_block

CURL_TIMEOUT = ["--max-time", "30"]


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


# ---------------------------------------------------------------------------
# curl


def test_curl_h2c_prior_knowledge(server):
    p = run(["curl", "-sS", "--http2-prior-knowledge", *CURL_TIMEOUT, "-o", "-",
             "-w", "\n%{http_version} %{http_code}", server.url + "/plaintext"])
    assert p.returncode == 0, p.stderr
    body, _, meta = p.stdout.decode().rpartition("\n")
    assert body == "Hello, World!"
    assert meta == "2 200"


def test_curl_h2c_upgrade(server):
    p = run(["curl", "-sS", "-v", "--http2", *CURL_TIMEOUT, "-o", "-",
             "-w", "\n%{http_version} %{http_code}", server.url + "/plaintext"])
    assert p.returncode == 0, p.stderr
    err = p.stderr.decode(errors="replace")
    # The request went out as HTTP/1.1 with the upgrade offer...
    assert re.search(r"^> Upgrade: h2c", err, re.M | re.I), err
    # ...the server switched protocols...
    assert re.search(r"^< HTTP/1\.1 101", err, re.M), err
    # ...and the response then arrived over HTTP/2.
    assert re.search(r"^< HTTP/2 200", err, re.M), err
    body, _, meta = p.stdout.decode().rpartition("\n")
    assert body == "Hello, World!"
    assert meta == "2 200"


def test_curl_h2c_upgrade_post_echo(server):
    """An upgrade on a request with a body: the body must still arrive."""
    p = run(["curl", "-sS", "--http2", *CURL_TIMEOUT, "--data-binary", "ping-pong",
             "-H", "content-type: text/plain", "-o", "-", "-w", "\n%{http_code}",
             server.url + "/echo"])
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.decode().rpartition("\n")
    assert code == "200"
    assert body == "ping-pong"


def test_curl_tls_alpn_h2(server):
    p = run(["curl", "-sS", "--cacert", server.ca, *CURL_TIMEOUT, "-o", "-",
             "-w", "\n%{http_version} %{http_code}", server.tls_url + "/plaintext"])
    assert p.returncode == 0, p.stderr
    body, _, meta = p.stdout.decode().rpartition("\n")
    assert body == "Hello, World!"
    assert meta == "2 200"


def test_curl_h2_headers_and_404_405(server):
    p = run(["curl", "-sS", "--http2-prior-knowledge", *CURL_TIMEOUT, "-o", "/dev/null",
             "-w", "%{http_code}", server.url + "/nope"])
    assert p.stdout == b"404"
    p = run(["curl", "-sS", "--http2-prior-knowledge", *CURL_TIMEOUT, "-D", "-",
             "-o", "/dev/null", "-X", "DELETE", server.url + "/plaintext"])
    head = p.stdout.decode()
    assert head.startswith("HTTP/2 405"), head
    assert re.search(r"^allow: .*GET", head, re.M), head


# ---------------------------------------------------------------------------
# nghttp: several paths multiplexed on one connection


def test_nghttp_multiplexed(server):
    paths = ["/plaintext", "/healthz", "/", "/stream?n=3", "/nope"]
    p = run(["nghttp", "-nv", "-t", "30"] + [server.url + x for x in paths], timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    out = p.stdout.decode(errors="replace")
    # One connection.
    assert out.count("Connected") == 1, out
    # Five requests on five distinct client streams, each answered on its own stream.
    sent = dict((int(sid), path) for sid, path in re.findall(
        r"send HEADERS frame <[^>]*stream_id=(\d+)>\n(?:[ \t]+.*\n)*?[ \t]+:path: (\S+)", out))
    assert sorted(sent.values()) == sorted(paths), out
    assert all(sid % 2 == 1 for sid in sent), out
    statuses = {}
    for sid, status in re.findall(r"recv \(stream_id=(\d+)\) :status: (\d+)", out):
        statuses[sent[int(sid)]] = int(status)
    assert statuses == {"/plaintext": 200, "/healthz": 200, "/": 200, "/stream?n=3": 200,
                        "/nope": 404}, out
    # More than one stream was open at the same time: all HEADERS were sent
    # before the first response HEADERS arrived.
    first_recv = out.find("recv HEADERS frame")
    last_send = out.rfind("send HEADERS frame")
    assert 0 <= last_send < first_recv, out


def test_nghttp_stats_tls(server):
    """-a fetches the assets referenced by the page; -s prints per-request stats."""
    p = run(["nghttp", "-ans", "-t", "30", "-y",
             server.tls_url + "/", server.tls_url + "/plaintext"], timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    out = p.stdout.decode()
    # id  responseEnd requestStart  process code size request path
    rows = re.findall(r"^\s*\d+\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s+(\d+)\s+(\S+)$", out, re.M)
    assert sorted((code, path) for code, _, path in rows) == [("200", "/"), ("200", "/plaintext")], out
    assert dict((path, size) for _, size, path in rows)["/plaintext"] == "13", out


# ---------------------------------------------------------------------------
# h2load


def h2load_summary(out):
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    assert m, out
    s = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert s, out
    return [int(x) for x in m.groups()], [int(x) for x in s.groups()]


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
def test_h2load(server, tls):
    url = (server.tls_url if tls else server.url) + "/plaintext"
    p = run(["h2load", "-n", "2000", "-c", "4", "-m", "16", "-T", "30", "-N", "30", url],
            timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode()
    if tls:
        assert re.search(r"Application protocol: h2\b", out), out
    else:
        assert re.search(r"Application protocol: h2c\b", out), out
    req, codes = h2load_summary(out)
    assert req == [2000, 2000, 2000, 2000, 0, 0, 0], out
    assert codes == [2000, 0, 0, 0], out
    assert server.alive()


# ---------------------------------------------------------------------------
# bodies


def big_body(n=5 * 1024 * 1024):
    return (os.urandom(64 * 1024) * (n // (64 * 1024) + 1))[:n]


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
def test_large_echo_curl(server, tls, tmp_path):
    data = big_body()
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    dst = tmp_path / "out.bin"
    args = ["curl", "-sS", "--max-time", "60", "--data-binary", f"@{src}",
            "-H", "content-type: application/octet-stream", "-o", str(dst),
            "-w", "%{http_version} %{http_code}"]
    if tls:
        args += ["--cacert", server.ca, server.tls_url + "/echo"]
    else:
        args += ["--http2-prior-knowledge", server.url + "/echo"]
    p = run(args)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"2 200"
    out = dst.read_bytes()
    assert len(out) == len(data)
    assert out == data


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
def test_large_echo_h2lib(server, tls):
    data = big_body()
    port = server.tls_port if tls else server.port
    with H2Client(port, tls=tls, ca=server.ca, timeout=60) as c:
        sid = c.request("POST", "/echo", [("content-type", "application/octet-stream")], body=data)
        r = c.wait(sid)
        assert r.reset is None and c.goaway is None
        assert r.ended
        assert r.status == 200
        assert r.header("content-length") == str(len(data))
        assert bytes(r.body) == data


def test_stream_multiple_data_frames(server):
    with H2Client(server.port) as c:
        r = c.get("/stream?n=5&interval_ms=50")
        assert r.status == 200
        assert r.ended
        assert bytes(r.body) == b"".join(b"chunk %d\n" % i for i in range(5))
        # Each chunk is produced 50 ms after the previous one: separate DATA frames.
        assert r.data_frames == 5, r.data_frames


def test_stream_frames_raw(server):
    """Same, at the frame level: 5 non-empty DATA frames then END_STREAM."""
    with RawH2(server.port) as h:
        from h2client import headers_frame
        h.send(headers_frame(1, request_block(h.encoder, "/stream?n=5&interval_ms=50")))
        h.read(timeout=10, until=lambda f: f.stream_id == 1 and f.flags & 1
               and f.type in (DATA, HEADERS))
        data = [f for f in h.stream_frames(1) if f.type == DATA]
        assert [f.payload for f in data if f.payload] == [b"chunk %d\n" % i for i in range(5)]
        assert data[-1].flags & 1  # END_STREAM on the last DATA
        assert h.status(1) == "200"


def test_response_headers(server):
    with H2Client(server.port) as c:
        r = c.get("/")
        assert r.status == 200
        names = [k for k, _ in r.headers]
        assert names[0] == ":status"
        for n in names:
            assert n == n.lower(), names
        assert r.header("server")
        assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT", r.header("date"))
        assert r.header("etag")
        assert r.header("content-type").startswith("text/html")
        # Connection-specific headers are forbidden in HTTP/2.
        for bad in ("connection", "keep-alive", "transfer-encoding", "upgrade"):
            assert bad not in names
        # Conditional request with the ETag: 304, no body.
        r2 = c.get("/", headers=[("if-none-match", r.header("etag"))])
        assert r2.status == 304
        assert bytes(r2.body) == b""


def test_head_has_no_data(server):
    from h2client import headers_frame
    with RawH2(server.port) as h:
        h.send(headers_frame(1, request_block(h.encoder, "/plaintext", method="HEAD")))
        h.read(timeout=5, until=lambda f: f.stream_id == 1 and f.flags & 1)
        frames = h.stream_frames(1)
        assert h.status(1) == "200"
        assert all(not f.payload for f in frames if f.type == DATA), frames
        assert frames[-1].flags & 1
    with H2Client(server.port) as c:
        r = c.wait(c.request("HEAD", "/"))
        assert r.status == 200
        assert r.ended
        assert bytes(r.body) == b""
        assert r.data_frames == 0


def test_small_client_window(server):
    """The client advertises a 1 KiB stream window; a 200 KB echo still
    arrives completely as the client returns credit with WINDOW_UPDATE."""
    data = os.urandom(200 * 1024)
    with H2Client(server.port, timeout=30, local_settings={0x4: 1024}) as c:
        sid = c.request("POST", "/echo", body=data)
        r = c.wait(sid)
        assert r.reset is None and c.goaway is None
        assert r.status == 200
        assert bytes(r.body) == data
        # No DATA frame exceeded the advertised window.
        from h2.events import DataReceived
        sizes = [e.flow_controlled_length for e in c.events if isinstance(e, DataReceived)]
        assert max(sizes) <= 1024


def test_concurrent_streams(server):
    with H2Client(server.port, timeout=30) as c:
        sids = [c.request("GET", "/plaintext" if i % 2 else "/stream?n=3&interval_ms=10")
                for i in range(50)]
        rs = c.wait_all(sids)
        assert c.goaway is None
        for i, r in enumerate(rs):
            assert r.reset is None and r.ended, (sids[i], r.reset)
            assert r.status == 200
            expect = b"Hello, World!" if i % 2 else b"chunk 0\nchunk 1\nchunk 2\n"
            assert bytes(r.body) == expect


def test_concurrent_posts_interleaved(server):
    """Several echo streams whose bodies are interleaved frame by frame."""
    bodies = [os.urandom(100_000 + i) for i in range(8)]
    with H2Client(server.port, timeout=30) as c:
        sids = [c.request("POST", "/echo", body=b) for b in bodies]
        rs = c.wait_all(sids)
        for b, r in zip(bodies, rs):
            assert r.status == 200
            assert bytes(r.body) == b


def test_server_settings(server):
    """The server's SETTINGS carry its configured limits."""
    with H2Client(server.port) as c:
        c.get("/plaintext")
        rs = c.conn.remote_settings
        assert rs.max_concurrent_streams == 128
        assert rs.max_header_list_size == 65536
        assert rs.initial_window_size == 1048576


def test_response_trailers_h2(server):
    """/stream?trailers=1 ends with a trailing HEADERS block (END_STREAM) after the DATA."""
    with H2Client(server.port) as c:
        r = c.get("/stream?n=3&trailers=1")
        assert r.status == 200
        assert bytes(r.body) == b"chunk 0\nchunk 1\nchunk 2\n"
        assert r.ended
        names = dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                     for k, v in r.trailers)
        assert names == {"x-stream-chunks": "3"}, r.trailers


def test_response_trailers_h1(server):
    """Over HTTP/1.1 the same trailer arrives in the chunked trailer section."""
    import socket as _s
    with _s.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /stream?n=2&trailers=1 HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
                     b"Connection: close\r\n\r\n")
        data = b""
        while True:
            b_ = sock.recv(65536)
            if not b_:
                break
            data += b_
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body.endswith(b"0\r\nx-stream-chunks: 2\r\n\r\n"), body


def test_healthy_after_h2_suite(server):
    assert_healthy(server)
    assert_healthy(server, tls=True)
