"""gRPC bad input on `trident serve`, sent by hand with python3-h2 over h2c
(prior knowledge, plaintext port): what a gRPC library would never send.

Every bad call must get its exact answer (HTTP status, or grpc-status in a
trailers-only response), and afterwards a good call on the SAME connection
must still succeed: one broken stream never takes the connection down.
"""
import gzip
import http.client
import time
import urllib.parse
import zlib

import pytest

import grpc_util as gu
import h2client
from h2client import H2Client

UNARY = "/bench.Bench/Unary"
BIDI = "/bench.Bench/Bidi"
WATCH = "/payments.PaymentService/WatchPayments"
PROCESS = "/payments.PaymentService/ProcessPayment"
CHECK = "/grpc.health.v1.Health/Check"

OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 1, 2, 3, 4, 5
RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 8, 12, 13


def msg(name, **fields):
    return gu.protos()[name](**fields).SerializeToString()


def payload(data=b"hello"):
    return msg("bench.Payload", data=data)


@pytest.fixture
def c(server):
    with H2Client(server.port, timeout=10) as client:
        yield client
        assert client.goaway is None, f"server sent GOAWAY: {client.goaway}"


def good_call(c, data=b"still fine"):
    """A Bench Unary echo on the same connection succeeds."""
    r = gu.call(c, UNARY, gu.lpm(payload(data)))
    assert r.reset is None, f"good call reset: {r.reset}"
    assert r.status == 200, r.headers
    assert r.header("content-type").startswith("application/grpc"), r.headers
    assert gu.grpc_status(r) == (OK, None), (r.headers, r.trailers)
    msgs = gu.parse_lpms(r.body)
    assert len(msgs) == 1 and msgs[0][0] == 0, msgs
    assert gu.protos()["bench.Payload"].FromString(msgs[0][1]).data == data


def expect_trailers_only(c, sid, code, message_contains=None):
    r = c.responses[sid]
    assert r.ended, f"stream {sid} did not end (reset={r.reset}, goaway={c.goaway})"
    assert r.status == 200, r.headers
    assert r.header("content-type").startswith("application/grpc"), r.headers
    assert gu.is_trailers_only(c, sid), \
        f"not a trailers-only response: headers={r.headers} body={bytes(r.body)[:50]!r} " \
        f"trailers={r.trailers}"
    got, message = gu.grpc_status(r)
    assert got == code, f"grpc-status {got} ({message!r}), want {code}"
    assert message, "no grpc-message"
    if message_contains:
        assert message_contains in message, message
    return message


def test_good_call_and_content_type_variants(c):
    good_call(c)
    for ct in ("application/grpc+proto", "application/grpc"):
        r = gu.call(c, UNARY, gu.lpm(payload()), headers=gu.grpc_headers(content_type=ct))
        assert gu.grpc_status(r) == (OK, None), (ct, r.headers, r.trailers)
        assert gu.parse_lpms(r.body) == [(0, payload())]
    # Several calls in flight on one connection at once.
    sids = []
    for i in range(20):
        sid = gu.start_call(c, UNARY)
        gu.send(c, sid, gu.lpm(payload(b"%d" % i)), end_stream=True)
        sids.append(sid)
    rs = c.wait_all(sids)
    for i, r in enumerate(rs):
        assert gu.grpc_status(r) == (OK, None)
        assert gu.parse_lpms(r.body) == [(0, payload(b"%d" % i))]


# ---------------------------------------------------------------------------
# HTTP-level rejections


@pytest.mark.parametrize("ct", ["application/grpc+json", "application/grpc+thrift"])
def test_unsupported_content_type_415(c, ct):
    r = gu.call(c, UNARY, gu.lpm(payload()), headers=gu.grpc_headers(content_type=ct))
    assert r.status == 415, (r.headers, bytes(r.body))
    good_call(c)


def test_get_is_405(c):
    sid = c.request("GET", UNARY, gu.grpc_headers())
    r = c.wait(sid)
    assert r.status == 405, (r.headers, bytes(r.body))
    assert r.header("allow") == "POST", r.headers
    good_call(c)


def test_http1_is_505(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", UNARY, body=gu.lpm(payload()),
                     headers={"content-type": "application/grpc", "te": "trailers"})
        r = conn.getresponse()
        r.read()
        assert r.status == 505, (r.status, r.getheaders())
    finally:
        conn.close()
    with H2Client(server.port, timeout=10) as c:
        good_call(c)


# ---------------------------------------------------------------------------
# Trailers-only errors before the handler runs


@pytest.mark.parametrize("path,names", [
    ("/nope.Service/Method", "nope.Service"),
    ("/bench.Bench/Nope", "Nope"),
    ("/payments.PaymentService/processpayment", "processpayment"),
    ("/bench.Bench", None),
    ("/", None),
], ids=["service", "method", "method-case", "no-method", "root"])
def test_unimplemented(c, path, names):
    sid = gu.start_call(c, path)
    gu.send(c, sid, gu.lpm(payload()), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, UNIMPLEMENTED, names)
    good_call(c)


@pytest.mark.parametrize("timeout", ["1x", "abc", "123456789S", "S", "-1S", "1.5S", "1s", "1"])
def test_malformed_grpc_timeout(c, timeout):
    sid = gu.start_call(c, UNARY, gu.grpc_headers(timeout=timeout))
    gu.send(c, sid, gu.lpm(payload()), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, INTERNAL)
    good_call(c)


@pytest.mark.parametrize("timeout",
                         ["99999999S", "99999999H", "1H", "5000m", "99999999u", "20100m"])
def test_valid_grpc_timeout(c, timeout):
    r = gu.call(c, UNARY, gu.lpm(payload()), headers=gu.grpc_headers(timeout=timeout))
    assert gu.grpc_status(r) == (OK, None), (timeout, r.headers, r.trailers)
    assert gu.parse_lpms(r.body) == [(0, payload())]


def test_unknown_grpc_encoding(c):
    sid = gu.start_call(c, UNARY, gu.grpc_headers(extra=[("grpc-encoding", "snappy")]))
    gu.send(c, sid, gu.lpm(payload(), flag=1), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, UNIMPLEMENTED, "snappy")
    accepted = c.responses[sid].header("grpc-accept-encoding")
    assert accepted, c.responses[sid].headers
    assert {"gzip", "deflate"} <= {e.strip() for e in accepted.split(",")}, accepted
    good_call(c)


@pytest.mark.parametrize("extra", [[], [("grpc-encoding", "identity")]], ids=["none", "identity"])
def test_compressed_flag_without_encoding(c, extra):
    sid = gu.start_call(c, UNARY, gu.grpc_headers(extra=extra))
    gu.send(c, sid, gu.lpm(gzip.compress(payload()), flag=1), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, INTERNAL)
    good_call(c)


@pytest.mark.parametrize("enc,compress", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", None), ("gzip", None)])
def test_compressed_requests(c, enc, compress):
    """Per-message compression: flag 1 + grpc-encoding, or flag 0 (allowed
    under any grpc-encoding)."""
    data = b"compress me " * 1000
    body = payload(data)
    frame = gu.lpm(compress(body), flag=1) if compress else gu.lpm(body)
    r = gu.call(c, UNARY, frame, headers=gu.grpc_headers(extra=[("grpc-encoding", enc)]))
    assert gu.grpc_status(r) == (OK, None), (r.headers, r.trailers)
    msgs = gu.parse_lpms(r.body)
    assert len(msgs) == 1, msgs
    flag, out = msgs[0]
    if flag == 1:  # the server may compress the response with what it announced
        out = {"gzip": gzip.decompress, "deflate": zlib.decompress}[r.header("grpc-encoding")](out)
    assert gu.protos()["bench.Payload"].FromString(out).data == data
    good_call(c)


def test_corrupt_gzip_message(c):
    sid = gu.start_call(c, UNARY, gu.grpc_headers(extra=[("grpc-encoding", "gzip")]))
    gu.send(c, sid, gu.lpm(b"\x1f\x8b not really gzip", flag=1), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, INTERNAL)
    good_call(c)


@pytest.mark.parametrize("value", ["!!!!", "a", "ab$d", "YWJj=ZGVm"])
def test_invalid_base64_binary_metadata(c, value):
    sid = gu.start_call(c, UNARY, gu.grpc_headers(extra=[("x-foo-bin", value)]))
    gu.send(c, sid, gu.lpm(payload()), end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, INTERNAL, "x-foo-bin")
    good_call(c)


def test_valid_binary_metadata_padded_and_unpadded(c):
    for value in ("AAEC", "AAE", "AAE=", "AA", "AA==", "", "AAE,AAEC"):
        r = gu.call(c, UNARY, gu.lpm(payload()),
                    headers=gu.grpc_headers(extra=[("x-foo-bin", value)]))
        assert gu.grpc_status(r) == (OK, None), (value, r.headers, r.trailers)


# ---------------------------------------------------------------------------
# Framing


@pytest.mark.parametrize("body", [
    gu.lpm(payload(), flag=2),
    gu.lpm(payload(), flag=0xFF),
    gu.lpm(b"\0" * 10, length=100),
    gu.lpm(payload())[:3],
    gu.lpm(payload()) + gu.lpm(payload()),
    gu.lpm(payload()) + gu.lpm(payload())[:4],
    b"",
], ids=["flag-2", "flag-255", "truncated-message", "truncated-prefix", "two-requests",
        "one-and-a-bit", "zero-requests"])
def test_bad_framing_is_internal(c, body):
    sid = gu.start_call(c, UNARY)
    gu.send(c, sid, body, end_stream=True)
    c.wait(sid)
    expect_trailers_only(c, sid, INTERNAL)
    good_call(c)


@pytest.mark.parametrize("path", [UNARY, BIDI])
def test_message_over_4mib_rejected_from_prefix(c, path):
    """Only the 5-byte prefix announcing 5 MiB is sent, and the stream is left
    open: the server must answer RESOURCE_EXHAUSTED from the prefix alone."""
    sid = gu.start_call(c, path)
    gu.send(c, sid, gu.lpm(b"", length=5 << 20))
    r = c.wait(sid, timeout=5)
    assert r.ended, f"no answer to a 5 MiB prefix within 5 s (reset={r.reset})"
    got, message = gu.grpc_status(r)
    assert got == RESOURCE_EXHAUSTED, (got, message, r.headers, r.trailers)
    assert message
    if path == UNARY:
        expect_trailers_only(c, sid, RESOURCE_EXHAUSTED)
    good_call(c)


def test_message_at_limit_plus_one(c):
    sid = gu.start_call(c, UNARY)
    gu.send(c, sid, gu.lpm(b"", length=gu.MAX_MESSAGE + 1))
    c.wait(sid, timeout=5)
    expect_trailers_only(c, sid, RESOURCE_EXHAUSTED)
    good_call(c)


# ---------------------------------------------------------------------------
# Deadlines and cancellation


@pytest.mark.parametrize("path,body,end", [
    (WATCH, gu.lpm(msg("payments.WatchPaymentsRequest")), True),
    (BIDI, b"", False),
], ids=["watch-payments", "bidi-waiting-for-input"])
def test_deadline_exceeded(c, path, body, end):
    t0 = time.monotonic()
    sid = gu.start_call(c, path, gu.grpc_headers(timeout="200m"))
    gu.send(c, sid, body, end_stream=end)
    r = c.wait(sid, timeout=5)
    dt = time.monotonic() - t0
    assert r.ended or r.reset is not None, "call still open 5 s after a 200 ms deadline"
    got, message = gu.grpc_status(r)
    assert got == DEADLINE_EXCEEDED, (got, message, r.headers, r.trailers, r.reset)
    assert 0.15 <= dt <= 3, f"deadline of 200 ms fired after {dt:.2f} s"
    good_call(c)


def test_client_reset_of_watch_payments(c, server):
    """RST_STREAM(CANCEL) on open WatchPayments streams: the connection and
    the server keep working, and a new watch on the same connection still
    gets events."""
    for _ in range(10):
        sid = gu.start_call(c, WATCH)
        gu.send(c, sid, gu.lpm(msg("payments.WatchPaymentsRequest")), end_stream=True)
        c.pump(lambda: False, timeout=0.05)
        gu.reset(c, sid)
        good_call(c)
    # A watch on the same connection still works after the resets.
    sid = gu.start_call(c, WATCH)
    gu.send(c, sid, gu.lpm(msg("payments.WatchPaymentsRequest", user_id="rst-user")),
            end_stream=True)
    r = c.responses[sid]
    for i in range(50):  # the watch starts when its handler runs: retry
        p = gu.call(c, PROCESS, gu.lpm(msg("payments.PaymentRequest", user_id="rst-user",
                                            amount=1.0, currency="EUR")))
        assert gu.grpc_status(p) == (OK, None), (p.headers, p.trailers)
        if c.pump(lambda: len(r.body) > 5, timeout=0.2):
            break
    events = gu.parse_lpms(r.body)
    assert events, "no PaymentEvent reached a watch opened after 10 resets"
    ev = gu.protos()["payments.PaymentEvent"].FromString(events[0][1])
    assert ev.user_id == "rst-user" and ev.status == "approved"
    gu.reset(c, sid)
    good_call(c)
    h2client.assert_healthy(server)


# ---------------------------------------------------------------------------
# grpc-message percent-encoding


def test_grpc_message_percent_encoded(c):
    name = "café ☺ 100% \U0001f608\t"
    sid = gu.start_call(c, CHECK)
    gu.send(c, sid, gu.lpm(msg("grpc.health.v1.HealthCheckRequest", service=name)),
            end_stream=True)
    c.wait(sid)
    r = c.responses[sid]
    raw = gu.status_block(r).get("grpc-message")
    assert raw is not None, r.headers
    assert all(0x20 <= ord(ch) <= 0x7E for ch in raw), f"grpc-message not percent-encoded: {raw!r}"
    assert "%25" in raw and "%C3%A9" in raw.upper(), raw
    message = expect_trailers_only(c, sid, NOT_FOUND)
    assert name in message, message
    assert urllib.parse.unquote(raw) == message
    good_call(c)


# ---------------------------------------------------------------------------
# A request body that keeps coming after an early answer


@pytest.mark.parametrize("kind", ["unknown-method", "over-limit", "415", "bad-timeout"])
def test_body_after_early_answer_does_not_stall_connection(c, kind):
    """The server answers before reading the request (trailers-only error or
    an HTTP error) while the client still sends 3 MiB on that stream, four
    times: 12 MiB, more than the 8 MiB connection window. The discarded DATA
    must be credited back (or the streams reset) so that the connection
    does not stall."""
    path = "/bench.Bench/Nope" if kind == "unknown-method" else UNARY
    headers = gu.grpc_headers(
        content_type="application/grpc+json" if kind == "415" else "application/grpc",
        timeout="1x" if kind == "bad-timeout" else None)
    for _ in range(4):
        sid = gu.start_call(c, path, headers)
        body = gu.lpm(b"\0" * (3 << 20), length=(5 << 20) if kind == "over-limit" else None)
        gu.push(c, sid, body, timeout=10)
        r = c.wait(sid, timeout=5)
        assert r.ended or r.reset is not None, f"no answer ({kind})"
        if kind == "415":
            assert r.status == 415, r.headers
        else:
            want = {"unknown-method": UNIMPLEMENTED, "over-limit": RESOURCE_EXHAUSTED,
                    "bad-timeout": INTERNAL}[kind]
            assert gu.grpc_status(r)[0] == want, (r.headers, r.trailers)
    good_call(c)


def test_early_error_resets_the_rest_of_the_request(c):
    """A framing error answered while the client is still sending: after the
    trailers the server sends RST_STREAM NO_ERROR (RFC 9113 §8.1), so the
    client stops sending the rest; the connection keeps working."""
    sid = gu.start_call(c, UNARY)
    gu.send(c, sid, b"\x02\x00\x00\x00\x05hello")  # flag 2, stream left open
    r = c.wait(sid, timeout=5)
    assert r.ended
    got, _ = gu.grpc_status(r)
    assert got == INTERNAL
    deadline = time.monotonic() + 5
    while r.reset is None and time.monotonic() < deadline:
        c.pump(lambda: r.reset is not None, timeout=0.5)
    assert r.reset == 0, f"expected RST_STREAM NO_ERROR after the answer, got {r.reset}"
    good_call(c)
