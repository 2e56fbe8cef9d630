"""Malformed, ambiguous and oversized HTTP/1.1 input.

For every rule: the exact status, `connection: close`, the text body
"<Reason>: <detail>\\n", the server closing the connection, and a fresh
client being served afterwards.
"""
import random
import re
import socket
import ssl
import time

import pytest

import conftest

TIMEOUT = 10.0

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
# Older reason phrases that are equally acceptable.
ALT_REASONS = {
    413: {"Payload Too Large", "Request Entity Too Large"},
    414: {"Request-URI Too Long", "Request-URI Too Large"},
}


def connect(port, timeout=TIMEOUT):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def exchange(port, data, timeout=TIMEOUT, pause_after=None, shutdown_write=False):
    """Send data, then read until the server closes. Returns (bytes, closed).

    A write error (the server closed early) is tolerated: what matters is
    what the server answered.
    """
    with connect(port, timeout) as s:
        try:
            if pause_after is not None:
                s.sendall(data[:pause_after])
                time.sleep(0.2)
                s.sendall(data[pause_after:])
            else:
                s.sendall(data)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return conftest.read_until_close(s, timeout)


def split_response(data):
    """(status, reason, headers{lower: [values]}, body, rest) of the first response."""
    end = data.find(b"\r\n\r\n")
    assert end >= 0, f"no complete response head in {data!r}"
    lines = data[:end].decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) (.*)", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    headers = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        assert sep, line
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    rest = data[end + 4:]
    if "content-length" in headers:
        n = int(headers["content-length"][0])
        body, rest = rest[:n], rest[n:]
    else:
        body, rest = rest, b""
    return int(m.group(1)), m.group(2), headers, body, rest


def plaintext_ok(port):
    data, closed = exchange(port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    status, _, _, body, _ = split_response(data)
    assert status == 200 and body == b"Hello, World!", data


def assert_rejected(port, data, status, detail=None, pause_after=None, prefix_responses=0):
    """The request is answered with `status`, then the connection closes.

    prefix_responses: number of complete 200 responses expected first (for
    pipelines where a valid request precedes the bad one).
    """
    out, closed = exchange(port, data, pause_after=pause_after)
    rest = out
    for _ in range(prefix_responses):
        st, _, _, _, rest = split_response(rest)
        assert st == 200, out
    got, reason, headers, body, rest = split_response(rest)
    assert got == status, f"expected {status}, got {got}: {out!r}"
    assert reason == REASONS[status] or reason in ALT_REASONS.get(status, ()), reason
    assert headers.get("connection") == ["close"], out
    assert int(headers["content-length"][0]) == len(body), out
    assert body.startswith(reason.encode() + b": ") and body.endswith(b"\n"), body
    if detail is not None:
        assert detail.lower() in body.decode().lower(), body
    assert rest == b"", f"unexpected bytes after the error response: {rest!r}"
    assert closed, "server did not close the connection after the error"
    plaintext_ok(port)
    return body


@pytest.fixture
def srv(server):
    return server


# --------------------------------------------------------------------------
# Framing ambiguities
# --------------------------------------------------------------------------

def test_content_length_and_transfer_encoding(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)


def test_transfer_encoding_and_content_length_reversed_order(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400)


def test_content_length_and_te_on_get(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)


def test_differing_duplicate_content_length(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    b"Content-Length: 6\r\n\r\nhello!", 400)


def test_differing_content_length_list(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", 400)


@pytest.mark.parametrize("value", [b"-1", b"+5", b"0x5", b"5a", b"abc", b"", b"1 2",
                                   b"99999999999999999999999999"])
def test_invalid_content_length(srv, value):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + value
                    + b"\r\n\r\nhello", 400)


@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"", b"1" + b"0" * 20, b"fffffffffffffffff",
                                       b"0x5", b" 5", b"5 5"])
def test_invalid_chunk_size(srv, size_line):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + size_line + b"\r\nhello\r\n0\r\n\r\n", 400)


def test_chunk_data_not_followed_by_crlf(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3\r\nhelloXX\r\n0\r\n\r\n", 400)


def test_obs_fold(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", 400)


def test_obs_fold_tab(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n", 400)


def test_whitespace_before_colon(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost : a\r\n\r\n", 400)


def test_whitespace_before_colon_transfer_encoding(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
                    b"Content-Length: 5\r\n\r\nhello", 400)


def test_header_without_colon(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", 400)


def test_invalid_header_name(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nBad[Name]: x\r\n\r\n", 400)


def test_missing_host(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nAccept: */*\r\n\r\n", 400)


def test_two_host_headers(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)


def test_bare_lf_line_endings(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\nHost: a\n\n", 400)


def test_bare_lf_in_header_block(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400)


def test_bare_cr_in_header_value(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400)


def test_nul_in_header_value(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400)


def test_unknown_transfer_coding(srv):
    # gzip is a coding trident does not implement; chunked is final.
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    b"0\r\n\r\n", 501)


def test_unknown_transfer_coding_own_header_lines(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501)


def test_transfer_coding_gzip_only(srv):
    # chunked is not the final coding: length undeterminable -> 400 (RFC 9112 6.3).
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400)


def test_chunked_not_final(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                    b"0\r\n\r\n", 400)


def test_chunked_twice(srv):
    assert_rejected(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                    b"0\r\n\r\n", 400)


def test_transfer_encoding_in_http10(srv):
    # RFC 9112 6.1: TE in an HTTP/1.0 request is a framing fault -> 400 and close.
    assert_rejected(srv.port, b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)


# --------------------------------------------------------------------------
# Request line
# --------------------------------------------------------------------------

@pytest.mark.parametrize("method", [b"G(T", b"GE T", b"G\x01T", b"GET\x7f", b'"GET"', b"G@T"])
def test_invalid_method_token(srv, method):
    assert_rejected(srv.port, method + b" /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", 400)


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/1.2"])
def test_unsupported_version(srv, version):
    assert_rejected(srv.port, b"GET /plaintext " + version + b"\r\nHost: a\r\n\r\n", 505)


def test_version_3_0(srv):
    assert_rejected(srv.port, b"GET /plaintext HTTP/3.0\r\nHost: a\r\n\r\n", 505)


@pytest.mark.parametrize("line", [
    b"hello",
    b"GET",
    b"GET /plaintext",
    b"GET /plaintext HTTP/1.1 extra",
    b"GET  /plaintext HTTP/1.1",
    b"GET /plaintext  HTTP/1.1",
    b"GET /plaintext http/1.1",
    b"GET /plaintext HTTP/1.1 ",
    b"GET /plain text HTTP/1.1",
    b"GET /plaintext HTTP/1",
    b"GET /plaintext HTTP/1.x",
    b"GET /plaintext FOO/1.1",
    b"GET plaintext HTTP/1.1",
    b" GET /plaintext HTTP/1.1",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
])
def test_garbage_request_line(srv, line):
    assert_rejected(srv.port, line + b"\r\nHost: a\r\n\r\n", 400)


def test_request_line_over_limit(make_server):
    s = make_server("--max-request-line", "100", tls=False)
    ok = b"GET /plaintext?" + b"a" * 40 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    out, closed = exchange(s.port, ok)
    assert split_response(out)[0] == 200
    long_line = b"GET /plaintext?" + b"a" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert_rejected(s.port, long_line, 414)


def test_request_line_over_limit_without_newline(make_server):
    """A request line that never ends is rejected once it passes the limit."""
    s = make_server("--max-request-line", "100", tls=False)
    assert_rejected(s.port, b"GET /" + b"a" * 5000, 414)


def test_request_line_default_limit(srv):
    assert_rejected(srv.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414)


def test_header_block_over_limit(make_server):
    s = make_server("--max-header-bytes", "300", tls=False)
    ok = b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: " + b"b" * 50 + b"\r\nConnection: close\r\n\r\n"
    out, closed = exchange(s.port, ok)
    assert split_response(out)[0] == 200
    big = b"GET /plaintext HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(10)) + b"\r\n"
    assert_rejected(s.port, big, 431)


def test_single_header_over_limit(make_server):
    s = make_server("--max-header-bytes", "300", tls=False)
    assert_rejected(s.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 2000 + b"\r\n\r\n", 431)


def test_header_block_never_ends(make_server):
    s = make_server("--max-header-bytes", "300", tls=False)
    assert_rejected(s.port, b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 5000, 431)


def test_too_many_headers(make_server):
    s = make_server("--max-headers", "5", tls=False)
    ok = b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-1: 1\r\nX-2: 2\r\nConnection: close\r\n\r\n"
    out, closed = exchange(s.port, ok)
    assert split_response(out)[0] == 200
    many = b"GET /plaintext HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(10)) + b"\r\n"
    assert_rejected(s.port, many, 431)


def test_too_many_headers_default(srv):
    many = b"GET /plaintext HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(150)) + b"\r\n"
    assert_rejected(srv.port, many, 431)


def test_content_length_over_max_body(make_server):
    s = make_server("--max-body", "100", tls=False)
    out, closed = exchange(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n"
                                   b"Connection: close\r\n\r\n" + b"x" * 100)
    st, _, _, body, _ = split_response(out)
    assert st == 200 and body == b"x" * 100
    assert_rejected(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n" + b"x" * 101, 413)


def test_content_length_over_max_body_no_body_sent(make_server):
    """413 comes from the declared length alone; the client need not send the body."""
    s = make_server("--max-body", "100", tls=False)
    assert_rejected(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n", 413)


def test_expect_continue_over_max_body_gets_413_not_100(make_server):
    s = make_server("--max-body", "100", tls=False)
    with connect(s.port) as c:
        c.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        buf = b""
        c.settimeout(TIMEOUT)
        while True:
            b = c.recv(65536)
            if not b:
                break
            buf += b
    assert not buf.startswith(b"HTTP/1.1 100"), buf
    st, _, headers, _, _ = split_response(buf)
    assert st == 413 and headers.get("connection") == ["close"]
    plaintext_ok(s.port)


def test_chunked_body_over_max_body(make_server):
    s = make_server("--max-body", "100", tls=False)
    out, closed = exchange(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                   b"Connection: close\r\n\r\n32\r\n" + b"y" * 50 + b"\r\n32\r\n" + b"y" * 50
                                   + b"\r\n0\r\n\r\n")
    st, _, _, body, _ = split_response(out)
    assert st == 200, out
    # 60 + 60 > 100
    assert_rejected(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3c\r\n" + b"y" * 60 + b"\r\n3c\r\n" + b"y" * 60 + b"\r\n0\r\n\r\n", 413)


def test_chunked_single_huge_chunk_over_max_body(make_server):
    s = make_server("--max-body", "100", tls=False)
    assert_rejected(s.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"10000\r\n" + b"y" * 200, 413)


# --------------------------------------------------------------------------
# Request smuggling
# --------------------------------------------------------------------------

SMUGGLED_MARK = b"Hello, World!"


def _assert_no_smuggled_response(port, payload):
    out, closed = exchange(port, payload)
    assert closed
    st, _, headers, body, rest = split_response(out)
    assert st == 400, out
    assert headers.get("connection") == ["close"]
    assert rest == b"", f"a second response was sent: {out!r}"
    assert out.count(b"HTTP/1.1 ") == 1, out
    assert SMUGGLED_MARK not in out
    plaintext_ok(port)


def test_smuggling_cl_te(srv):
    _assert_no_smuggled_response(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n"
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"))


def test_smuggling_te_cl(srv):
    _assert_no_smuggled_response(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"24\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n\r\n0\r\n\r\n"))


@pytest.mark.parametrize("te", [
    b"Transfer-Encoding: xchunked",
    b"Transfer-Encoding : chunked",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x",
    b"Transfer-Encoding:\r\n chunked",
    b"Transfer-Encoding: chunked, identity",
    b"Transfer-Encoding: identity",
    b"Transfer-Encoding: \x0bchunked",
])
def test_smuggling_te_obfuscation(srv, te):
    _assert_no_smuggled_response(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n" + te + b"\r\n\r\n"
        b"24\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n\r\n0\r\n\r\n"))


def test_smuggling_duplicate_content_length(srv):
    _assert_no_smuggled_response(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n"
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"))


def test_smuggling_chunk_size_with_lf_only(srv):
    """A chunk-size line ended by bare LF must not be read two ways."""
    _assert_no_smuggled_response(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\nxx\r\n0\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"))


def test_bad_request_after_good_in_pipeline(srv):
    """The good request is answered, the bad one gets 400, nothing after it runs."""
    assert_rejected(srv.port, (
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /plaintext HTTP/1.1\r\nHost : a\r\n\r\n"
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"), 400, prefix_responses=1)


def test_bad_chunked_body_after_pipeline_does_not_leak(srv):
    assert_rejected(srv.port, (
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\nzz\r\n"
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"), 400, prefix_responses=0)


# --------------------------------------------------------------------------
# Error reply format
# --------------------------------------------------------------------------

def test_error_reply_format(srv):
    out, closed = exchange(srv.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert closed
    st, reason, headers, body, rest = split_response(out)
    assert st == 400 and reason == "Bad Request"
    assert headers["server"] == ["trident"]
    assert "date" in headers
    assert headers["content-type"][0].startswith("text/plain")
    assert re.fullmatch(rb"Bad Request: [^\n]+\n", body), body


def test_error_split_across_packets(srv):
    """The rejection is the same when the bad head arrives in two writes."""
    data = b"GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    assert_rejected(srv.port, data, 400, pause_after=20)


# --------------------------------------------------------------------------
# Garbage
# --------------------------------------------------------------------------

def test_garbage_binary_does_not_crash(server):
    rng = random.Random(1234)
    for i in range(40):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 7, 64, 1000, 20000])))
        # Half-close after the blob so the server sees EOF instead of
        # waiting for the rest of a head.
        out, closed = exchange(server.port, blob, timeout=5, shutdown_write=True)
        assert closed, (i, blob[:50], out[:200])
        if out:
            assert out.startswith(b"HTTP/1.1 4"), out[:100]
    # Garbage to the TLS listener as well.
    for i in range(20):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 5, 300, 5000])))
        with socket.create_connection(("127.0.0.1", server.tls_port), timeout=5) as s:
            try:
                s.sendall(blob)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(5)
                while s.recv(65536):
                    pass
            except (OSError, socket.timeout):
                pass  # reset, or already closed by the server
    # Valid TLS ClientHello prefix then abrupt close, TLS to the plaintext port.
    ctx = ssl.create_default_context(cafile=server.ca)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, OSError)):
            ctx.wrap_socket(raw, server_hostname="localhost")
    # Abrupt resets mid-request.
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"x" * 500)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"GET /stream?n=1000&size=10000 HTTP/1.1\r\nHost: a\r\n\r\n")
        s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    time.sleep(0.3)
    assert server.alive()
    plaintext_ok(server.port)


def test_partial_head_then_eof_closes_promptly(server):
    """A client that half-closes mid-head can never complete its request:
    the server must close at once, not wait for the header timeout (10 s).

    Repeated because the EOF may arrive in the same readiness event as the
    data (edge-triggered polling must still notice it)."""
    for i in range(150):
        # Blocking socket: connect, data and FIN go out back to back, so they
        # often reach the server before it has even accepted the connection.
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n")
            s.shutdown(socket.SHUT_WR)
            t0 = time.monotonic()
            s.settimeout(0.2)
            out = b""
            closed = False
            while time.monotonic() - t0 < 3:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    closed = True
                    break
                if not b:
                    closed = True
                    break
                out += b
        assert closed, f"iteration {i}: connection still open 3 s after the client's EOF ({out!r})"
        assert out == b"" or out.startswith(b"HTTP/1.1 400 "), out


def test_body_then_eof_closes_promptly(server):
    """EOF in the middle of a Content-Length body: the request can never
    complete; the server must close promptly (well before --body-timeout)."""
    for i in range(50):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            s.shutdown(socket.SHUT_WR)
            t0 = time.monotonic()
            s.settimeout(0.2)
            closed = False
            while time.monotonic() - t0 < 3:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    closed = True
                    break
                if not b:
                    closed = True
                    break
        assert closed, f"iteration {i}: connection still open 3 s after the client's EOF"
