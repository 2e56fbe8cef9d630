"""HTTP/2 keepalive, ping abuse and connection age (gRPC's keepalive rules,
applied to every HTTP/2 connection): exact frames, then a healthy server."""
import struct
import time

from h2client import (ENHANCE_YOUR_CALM, GOAWAY, HEADERS, NO_ERROR, RawH2, assert_healthy,
                      frame, headers_frame, ping_frame, request_block)

PING = 0x6


def is_goaway(f):
    return f.type == GOAWAY


def server_pings(h):
    return [f for f in h.frames if f.type == PING and not f.flags & 1]


def test_too_many_pings_without_requests(make_server):
    srv = make_server("--h2-min-ping-interval", "10", tls=False)
    with RawH2(srv.port, timeout=10) as h:
        time.sleep(1.5)  # the policy counts on the connection's one-second clock
        for i in range(4):
            h.send(ping_frame(struct.pack(">Q", i)))
            time.sleep(0.05)
        h.read(timeout=10, until=is_goaway)
        g = h.goaway()
        assert g is not None, "no GOAWAY after 4 PINGs within a second and no request"
        assert g.error_code == ENHANCE_YOUR_CALM, g
        assert g.payload[8:] == b"too_many_pings", g.payload
        h.read_until_closed(timeout=10)
        assert h.reader.closed
    assert_healthy(srv)


def test_pings_between_requests_are_fine(make_server):
    srv = make_server("--h2-min-ping-interval", "10", tls=False)
    with RawH2(srv.port, timeout=10) as h:
        time.sleep(1.5)
        for i in range(5):
            sid = 1 + 2 * i
            h.send(ping_frame(struct.pack(">Q", i)))
            h.send(headers_frame(sid, request_block(h.encoder, "/plaintext")))
            h.read(timeout=5, until=lambda f, sid=sid: f.stream_id == sid and f.flags & 1)
            assert h.status(sid) == "200"
        assert h.goaway() is None


def test_keepalive_ping_unanswered_closes(make_server):
    srv = make_server("--h2-keepalive-interval", "1", "--h2-keepalive-timeout", "2", tls=False)
    with RawH2(srv.port, timeout=10) as h:
        t0 = time.monotonic()
        h.read(timeout=5, until=lambda f: f.type == PING and not f.flags & 1)
        assert server_pings(h), "the server sent no keepalive PING"
        # Never answered: the server gives up on us.
        h.read_until_closed(timeout=10)
        assert h.reader.closed
        assert time.monotonic() - t0 < 9
        g = h.goaway()
        assert g is not None and g.error_code == NO_ERROR, g
    assert_healthy(srv)


def test_keepalive_ping_answered_stays_open(make_server):
    srv = make_server("--h2-keepalive-interval", "1", "--h2-keepalive-timeout", "2", tls=False)
    with RawH2(srv.port, timeout=10) as h:
        deadline = time.monotonic() + 5
        answered = 0
        while time.monotonic() < deadline:
            h.read(timeout=0.5)
            for f in server_pings(h)[answered:]:
                h.send(ping_frame(f.payload, ack=True))
                answered += 1
        assert answered >= 2, "expected a PING about every second"
        assert h.goaway() is None and not h.reader.closed
        h.send(headers_frame(1, request_block(h.encoder, "/plaintext")))
        h.read(timeout=5, until=lambda f: f.stream_id == 1 and f.flags & 1)
        assert h.status(1) == "200"


def test_max_connection_age(make_server):
    srv = make_server("--h2-max-connection-age", "1", "--h2-max-connection-age-grace", "1",
                      tls=False)
    with RawH2(srv.port, timeout=10) as h:
        # A slow stream started before the GOAWAY may finish within the grace period.
        h.send(headers_frame(1, request_block(h.encoder, "/stream?n=3&interval_ms=200")))
        h.read(timeout=6, until=is_goaway)
        g = h.goaway()
        assert g is not None and g.error_code == NO_ERROR, g
        h.read_until_closed(timeout=10)
        assert h.reader.closed
        assert h.status(1) == "200"
    assert_healthy(srv)
