"""RFC 6455 conformance of trident's WebSocket server, raw sockets only, in
the spirit of the Autobahn testsuite categories (handshake, framing, pings,
reserved bits and opcodes, fragmentation, UTF-8, close handling, limits),
plus trident's own policies (origin, token, per-IP limit, heartbeats, slow
consumers, graceful shutdown). The contract is docs/websocket.md.

Every protocol-error test also checks that the server still serves a new
client afterwards.
"""
import json
import signal
import socket
import struct
import time

import pytest

from conftest import Server
from h2client import vm_rss_kb
from wsclient import (BINARY, CLOSE, CONT, PING, PONG, RSV1, RSV2, RSV3, TEXT, WSClosed,
                      WSTimeout, accept_for, assert_echo_works, build_frame, close_payload,
                      echo_roundtrip, expect_fail, frame_header_sizes, handshake, http_get,
                      open_ws, parse_close, parse_frames, stats)

# ---------------------------------------------------------------------------
# Opening handshake


def test_handshake_accept_key(server):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    r = handshake(server.port, key=key)
    try:
        assert r.status == 101, (r.status, r.headers)
        assert r.headers["upgrade"].lower() == "websocket"
        assert "upgrade" in r.headers["connection"].lower()
        # RFC 6455 §1.3 example value
        assert r.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert r.headers["sec-websocket-accept"] == accept_for(key)
        assert "sec-websocket-protocol" not in r.headers
        assert "sec-websocket-extensions" not in r.headers  # nothing offered
    finally:
        r.close()


def test_handshake_header_names_and_values_case_insensitive(server):
    r = handshake(server.port, upgrade=False,
                  headers=[("UPGRADE", "WebSocket"), ("connection", "keep-alive, Upgrade")])
    try:
        assert r.status == 101, (r.status, r.headers)
    finally:
        r.close()


def expect_status(port, status, **kw):
    r = handshake(port, **kw)
    try:
        assert r.status == status, (r.status, r.headers, r.rest)
        assert "sec-websocket-accept" not in r.headers
        return r.headers
    finally:
        r.close()


def test_version_8_is_426(server):
    h = expect_status(server.port, 426, version="8")
    assert h.get("sec-websocket-version") == "13", h
    assert_echo_works(server.port)


def test_version_missing_is_426(server):
    h = expect_status(server.port, 426, version=None)
    assert h.get("sec-websocket-version") == "13", h


@pytest.mark.parametrize("key", [False, "", "abc", "dGhlIHNhbXBsZSBub25j",  # 15 bytes
                                 "dGhlIHNhbXBsZSBub25jZXM=",  # 17 bytes
                                 "!!!!!!!!!!!!!!!!!!!!!!=="])
def test_bad_key_is_400(server, key):
    expect_status(server.port, 400, key=key)
    assert_echo_works(server.port)


def test_post_is_405(server):
    h = expect_status(server.port, 405, method="POST")
    # The route takes GET (RFC 6455) and CONNECT (RFC 8441 over HTTP/2);
    # HEAD goes through the GET route (and gets its 426, like a plain GET).
    assert h.get("allow") == "GET, CONNECT, HEAD", h


def test_plain_get_without_upgrade_is_426(server):
    h = expect_status(server.port, 426, upgrade=False)
    assert h.get("upgrade", "").lower() == "websocket", h


def test_upgrade_without_connection_upgrade_is_426(server):
    h = expect_status(server.port, 426, upgrade=False,
                      headers=[("Upgrade", "websocket"), ("Connection", "keep-alive")])
    assert h.get("upgrade", "").lower() == "websocket", h


def test_origin_policy(server):
    port = server.port
    # no Origin: not a browser, allowed
    open_ws(port).close()
    # same origin as Host
    open_ws(port, origin=f"http://127.0.0.1:{port}").close()
    # foreign origins
    before = stats(port)["rejected_origin"]
    expect_status(port, 403, origin="http://evil.example")
    expect_status(port, 403, origin=f"http://127.0.0.1:{port + 1}")
    expect_status(port, 403, origin="https://app.example.com")
    assert stats(port)["rejected_origin"] >= before + 3
    assert_echo_works(port)


def test_allowed_origin_flag(make_server):
    srv = make_server("--ws-allowed-origin", "https://app.example.com", tls=False)
    port = srv.port
    open_ws(port, origin="https://app.example.com").close()
    open_ws(port, origin=f"http://127.0.0.1:{port}").close()  # same origin still fine
    open_ws(port).close()
    expect_status(port, 403, origin="https://app.example.com.evil.example")
    expect_status(port, 403, origin="http://app.example.com")  # exact match: scheme counts
    expect_status(port, 403, origin="https://other.example.com")


def test_allowed_origin_star(make_server):
    srv = make_server("--ws-allowed-origin", "*", tls=False)
    open_ws(srv.port, origin="https://anything.example").close()


def test_token(make_server):
    srv = make_server("--ws-token", "secret", tls=False)
    port = srv.port
    h = expect_status(port, 401)
    assert h.get("www-authenticate", "").lower().startswith("bearer"), h
    expect_status(port, 401, headers=[("Authorization", "Bearer wrong")])
    expect_status(port, 401, headers=[("Authorization", "Basic c2VjcmV0")])
    expect_status(port, 401, protocols="chat, bearer.wrong")
    assert stats(port)["rejected_token"] >= 4
    with open_ws(port, headers=[("Authorization", "Bearer secret")]) as ws:
        assert echo_roundtrip(ws, TEXT, b"authorized") == (TEXT, b"authorized")
    # the token as a subprotocol entry; the bearer entry is never echoed
    ws = open_ws(port, path="/ws/chat", protocols="chat, bearer.secret")
    assert ws.headers.get("sec-websocket-protocol") == "chat", ws.headers
    ws.close()
    ws = open_ws(port, protocols="bearer.secret")
    assert "sec-websocket-protocol" not in ws.headers, ws.headers
    assert echo_roundtrip(ws, TEXT, b"x") == (TEXT, b"x")
    ws.close()


def test_subprotocol_selection(server):
    ws = open_ws(server.port, protocols="foo, echo")
    assert ws.headers.get("sec-websocket-protocol") == "echo", ws.headers
    ws.close()
    ws = open_ws(server.port, protocols="foo")
    assert "sec-websocket-protocol" not in ws.headers, ws.headers
    assert echo_roundtrip(ws, TEXT, b"x") == (TEXT, b"x")
    ws.close()
    ws = open_ws(server.port, protocols="echo")
    assert ws.headers.get("sec-websocket-protocol") == "echo", ws.headers
    ws.close()


def test_unknown_ws_route_is_404(server):
    expect_status(server.port, 404, path="/ws/nope")


# ---------------------------------------------------------------------------
# Echo, framing


SIZES = [0, 1, 125, 126, 127, 65535, 65536]


@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_echo_sizes(server, opcode):
    with open_ws(server.port) as ws:
        for n in SIZES:
            payload = (b"*" * n) if opcode == TEXT else bytes(i & 0xFF for i in range(n))
            op, data = echo_roundtrip(ws, opcode, payload)
            assert op == opcode and len(data) == n and data == payload, n
        ws.send_close(1000)
        assert ws.expect_close()[0] == 1000


@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_echo_1mib(make_server, opcode):
    srv = make_server("--ws-max-message", str(4 << 20), tls=False)
    n = (1 << 20) - 1
    payload = (b"abcdefgh" * (n // 8 + 1))[:n] if opcode == TEXT else bytes(range(256)) * 4096
    payload = payload[:n]
    with open_ws(srv.port) as ws:
        assert echo_roundtrip(ws, opcode, payload, timeout=20) == (opcode, payload)
        # and one bigger than the default limit
        big = payload * 2
        assert echo_roundtrip(ws, opcode, big, timeout=20) == (opcode, big)


def test_64bit_length(server):
    with open_ws(server.port) as ws:
        payload = bytes(range(256)) * 300  # 76800 bytes, 64-bit length form
        assert ws.send_frame(BINARY, payload, length_form=64)
        f = ws.recv_frame(10)
        data = f.payload
        while not f.fin:
            f = ws.recv_frame(10)
            data += f.payload
        assert data == payload


def test_server_frames_minimal_length_and_unmasked(server):
    sizes = (0, 125, 126, 65535, 65536)
    with open_ws(server.port) as ws:
        for n in sizes:
            assert ws.send_frame(BINARY, b"z" * n)
        # Read raw bytes until every echoed message is complete.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frames = frame_header_sizes(ws.buf)
            if sum(1 for _, _, f in frames if f.fin) >= len(sizes):
                break
            try:
                ws._fill(deadline)
            except WSTimeout:
                break
        frames, _ = parse_frames(ws.buf)
        assert all(not masked for _, masked in frames), "server frames must not be masked"
        for hl, n, f in frame_header_sizes(ws.buf):
            assert hl == (2 if n <= 125 else 4 if n <= 0xFFFF else 10), (hl, n, f)
            assert f.rsv == 0, f
        messages, cur = [], 0
        for f, _ in frames:
            cur += len(f.payload)
            if f.fin:
                messages.append(cur)
                cur = 0
        assert messages == list(sizes), messages


def test_fragmented_text(server):
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"Hel", fin=False)
        ws.send_frame(CONT, b"lo, ", fin=False)
        ws.send_frame(CONT, b"world", fin=True)
        op, data, _ = ws.recv_message()
        assert (op, data) == (TEXT, b"Hello, world")


def test_fragmented_binary_with_empty_fragments(server):
    with open_ws(server.port) as ws:
        ws.send_frame(BINARY, b"", fin=False)
        ws.send_frame(CONT, b"\x00\x01", fin=False)
        ws.send_frame(CONT, b"", fin=False)
        ws.send_frame(CONT, b"\x02", fin=True)
        assert ws.recv_message()[:2] == (BINARY, b"\x00\x01\x02")


def test_fragments_with_interleaved_ping(server):
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"frag1", fin=False)
        ws.send_frame(PING, b"ping-payload")
        ws.send_frame(CONT, b"frag2", fin=False)
        ws.send_frame(CONT, b"frag3", fin=True)
        f = ws.recv_frame()
        assert (f.opcode, f.payload) == (PONG, b"ping-payload"), f
        assert ws.recv_message()[:2] == (TEXT, b"frag1frag2frag3")


def test_fragments_with_interleaved_pong_ignored(server):
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"a", fin=False)
        ws.send_frame(PONG, b"unsolicited")
        ws.send_frame(CONT, b"b", fin=True)
        f = ws.recv_frame()
        assert (f.opcode, f.payload) == (TEXT, b"ab"), f


def test_ping_125_bytes(server):
    with open_ws(server.port) as ws:
        payload = bytes(range(125))
        ws.send_frame(PING, payload)
        f = ws.recv_frame()
        assert (f.fin, f.opcode, f.payload) == (True, PONG, payload), f
        ws.send_frame(PING, b"")
        f = ws.recv_frame()
        assert (f.opcode, f.payload) == (PONG, b""), f


def test_unsolicited_pong_is_ignored(server):
    with open_ws(server.port) as ws:
        ws.send_frame(PONG, b"hi")
        assert echo_roundtrip(ws, TEXT, b"after pong") == (TEXT, b"after pong")


def test_pipelined_handshake_and_first_frame(server):
    frame = build_frame(TEXT, b"in the same write")
    r = handshake(server.port, extra=frame)
    ws = r.ws()
    try:
        assert ws.recv_message()[:2] == (TEXT, b"in the same write")
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Protocol errors → 1002


def _fail_1002(port, *frames):
    with open_ws(port) as ws:
        for f in frames:
            if not ws.send_raw(f):
                break
        expect_fail(ws, 1002)
    assert_echo_works(port)


def test_ping_126_bytes_is_1002(server):
    _fail_1002(server.port, build_frame(PING, b"x" * 126))


def test_close_126_bytes_is_1002(server):
    _fail_1002(server.port, build_frame(CLOSE, close_payload(1000, b"r" * 124)))


def test_fragmented_ping_is_1002(server):
    _fail_1002(server.port, build_frame(PING, b"abc", fin=False), build_frame(CONT, b"def"))


def test_unmasked_frame_is_1002(server):
    _fail_1002(server.port, build_frame(TEXT, b"not masked", mask=False))


@pytest.mark.parametrize("rsv", [RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3],
                         ids=["rsv1", "rsv2", "rsv3", "all"])
def test_reserved_bits_are_1002(server, rsv):
    _fail_1002(server.port, build_frame(TEXT, b"reserved", rsv=rsv))


def test_reserved_bit_on_ping_is_1002(server):
    _fail_1002(server.port, build_frame(PING, b"p", rsv=RSV2))


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes_are_1002(server, opcode):
    _fail_1002(server.port, build_frame(opcode, b"payload"))


def test_reserved_opcode_after_valid_message(server):
    with open_ws(server.port) as ws:
        assert echo_roundtrip(ws, TEXT, b"ok") == (TEXT, b"ok")
        ws.send_frame(5, b"")
        expect_fail(ws, 1002)


def test_continuation_without_start_is_1002(server):
    _fail_1002(server.port, build_frame(CONT, b"orphan", fin=True))


def test_continuation_without_start_not_fin_is_1002(server):
    _fail_1002(server.port, build_frame(CONT, b"orphan", fin=False))


def test_new_text_inside_fragmented_message_is_1002(server):
    _fail_1002(server.port, build_frame(TEXT, b"start", fin=False), build_frame(TEXT, b"again"))


def test_new_binary_inside_fragmented_message_is_1002(server):
    _fail_1002(server.port, build_frame(BINARY, b"start", fin=False),
               build_frame(BINARY, b"again", fin=False))


def test_close_one_byte_payload_is_1002(server):
    _fail_1002(server.port, build_frame(CLOSE, b"\x03"))


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_invalid_close_codes_are_1002(server, code):
    _fail_1002(server.port, build_frame(CLOSE, close_payload(code, b"")))


# ---------------------------------------------------------------------------
# UTF-8 → 1007


def _fail_1007(port, *frames, timeout=5.0):
    with open_ws(port) as ws:
        for f in frames:
            if not ws.send_raw(f):
                break
        expect_fail(ws, 1007, timeout)
    assert_echo_works(port)


@pytest.mark.parametrize("payload", [
    b"\xff",
    b"abc\xc0\xafdef",  # overlong '/'
    b"\xed\xa0\x80",  # UTF-16 surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",  # Autobahn 6.x
    b"truncated \xe2\x82",  # ends mid code point
], ids=["ff", "overlong", "surrogate", "too-big", "autobahn", "truncated"])
def test_invalid_utf8_text_is_1007(server, payload):
    _fail_1007(server.port, build_frame(TEXT, payload))


def test_invalid_utf8_truncated_across_fragments_is_1007(server):
    _fail_1007(server.port, build_frame(TEXT, b"abc\xe2", fin=False),
               build_frame(CONT, b"\x82", fin=True))


def test_invalid_utf8_in_first_fragment_fails_fast(server):
    """The invalid byte is in the first fragment (F4 90: above U+10FFFF, split
    mid code point); the server must fail at once, not wait for FIN."""
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90", fin=False)
        t0 = time.monotonic()
        expect_fail(ws, 1007, timeout=3)
        assert time.monotonic() - t0 < 3
    assert_echo_works(server.port)


def test_invalid_utf8_in_first_fragment_byte_ff_fails_fast(server):
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"hello \xff", fin=False)
        expect_fail(ws, 1007, timeout=3)


def test_valid_utf8_split_mid_code_point_echoes(server):
    text = "κόσμε €𝄞 done".encode()
    with open_ws(server.port) as ws:
        # split inside the 2-byte, 3-byte and 4-byte sequences
        cut1 = text.index("ό".encode()) + 1
        cut2 = text.index("€".encode()) + 2
        cut3 = text.index("𝄞".encode()) + 3
        parts = [text[:cut1], text[cut1:cut2], text[cut2:cut3], text[cut3:]]
        for i, p in enumerate(parts):
            ws.send_frame(TEXT if i == 0 else CONT, p, fin=i == len(parts) - 1)
        assert ws.recv_message()[:2] == (TEXT, text)
        # one byte per frame
        for i, b in enumerate(text):
            ws.send_frame(TEXT if i == 0 else CONT, bytes([b]), fin=i == len(text) - 1)
        assert ws.recv_message()[:2] == (TEXT, text)


def test_invalid_utf8_in_binary_is_fine(server):
    with open_ws(server.port) as ws:
        data = b"\xff\xfe\xed\xa0\x80"
        assert echo_roundtrip(ws, BINARY, data) == (BINARY, data)


# ---------------------------------------------------------------------------
# Close handshake


def test_close_1000_with_reason(server):
    with open_ws(server.port) as ws:
        ws.send_close(1000, b"bye now")
        code, _ = ws.expect_close()
        assert code == 1000
        assert ws.wait_eof(), "no TCP close after the close handshake"
    assert_echo_works(server.port)


def test_close_empty(server):
    with open_ws(server.port) as ws:
        ws.send_frame(CLOSE, b"")
        f = ws.recv_frame()
        assert f.opcode == CLOSE and f.payload == b"", f
        assert ws.wait_eof()


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  3000, 3999, 4000, 4999])
def test_valid_close_codes_echoed(server, code):
    with open_ws(server.port) as ws:
        ws.send_close(code, b"reason")
        assert ws.expect_close()[0] == code
        assert ws.wait_eof()


def test_close_reason_invalid_utf8_is_1007(server):
    _fail_1007(server.port, build_frame(CLOSE, close_payload(1000, b"\xce\xba\xff")))


def test_close_reason_max_length_valid_utf8(server):
    with open_ws(server.port) as ws:
        ws.send_close(1000, "é".encode() * 61 + b"x")  # 2 + 123 = 125 bytes
        assert ws.expect_close()[0] == 1000


def test_close_after_fragment_start(server):
    with open_ws(server.port) as ws:
        ws.send_frame(TEXT, b"unfinished", fin=False)
        ws.send_close(1000)
        assert ws.expect_close(skip_data=False)[0] == 1000


def test_data_after_close_is_ignored(server):
    with open_ws(server.port) as ws:
        ws.send_raw(build_frame(CLOSE, close_payload(1000)) + build_frame(TEXT, b"late"))
        f = ws.recv_frame()
        assert f.opcode == CLOSE, f
        assert parse_close(f.payload)[0] == 1000
        assert ws.wait_eof()


# ---------------------------------------------------------------------------
# Limits → 1009


def test_max_message_single_frame(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)
    with open_ws(srv.port) as ws:
        assert echo_roundtrip(ws, BINARY, b"a" * 1000) == (BINARY, b"a" * 1000)
        ws.send_frame(BINARY, b"a" * 1001)
        expect_fail(ws, 1009)
    with open_ws(srv.port) as ws:
        ws.send_frame(TEXT, b"a" * 5000)
        expect_fail(ws, 1009)
    assert_echo_works(srv.port)


def test_max_message_across_fragments(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)
    with open_ws(srv.port) as ws:
        ws.send_frame(TEXT, b"a" * 500, fin=False)
        ws.send_frame(CONT, b"b" * 500, fin=True)
        assert ws.recv_message()[:2] == (TEXT, b"a" * 500 + b"b" * 500)
        ws.send_frame(TEXT, b"a" * 600, fin=False)
        ws.send_frame(CONT, b"b" * 600, fin=False)  # 1200 > 1000: fail without FIN
        expect_fail(ws, 1009)
    assert_echo_works(srv.port)


def test_max_message_huge_declared_length(make_server):
    """A header announcing 2^62 bytes fails at once, before any payload."""
    srv = make_server("--ws-max-message", "1000", tls=False)
    with open_ws(srv.port) as ws:
        ws.send_raw(struct.pack(">BBQ", 0x82, 0x80 | 127, 1 << 62) + b"\x00\x00\x00\x00")
        expect_fail(ws, 1009)
    assert_echo_works(srv.port)


# ---------------------------------------------------------------------------
# Heartbeats


def test_heartbeat_unanswered_pings_close_1001(make_server):
    srv = make_server("--ws-ping-interval", "1", tls=False)
    before = stats(srv.port)["heartbeat_closes"]
    with open_ws(srv.port) as ws:
        t0 = time.monotonic()
        pings = 0
        code = reason = None
        deadline = t0 + 6
        while time.monotonic() < deadline:
            try:
                f = ws.recv_frame(max(0.01, deadline - time.monotonic()))
            except (WSClosed, WSTimeout):
                break
            if f.opcode == PING:
                pings += 1  # never answered
            elif f.opcode == CLOSE:
                code, reason = parse_close(f.payload)
                break
        assert pings >= 1, "server never pinged"
        assert (code, reason) == (1001, b"ping timeout"), (code, reason)
        assert ws.wait_eof(6 - (time.monotonic() - t0) + 0.5)
        assert time.monotonic() - t0 < 6.5
    assert stats(srv.port)["heartbeat_closes"] >= before + 1


def test_heartbeat_answered_pings_keep_open(make_server):
    srv = make_server("--ws-ping-interval", "1", tls=False)
    with open_ws(srv.port) as ws:
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 3.2:
            try:
                f = ws.recv_frame(0.3)
            except WSTimeout:
                continue
            assert f.opcode == PING, f
            pings += 1
            ws.send_frame(PONG, f.payload)
        assert pings >= 2
        ws.send_frame(TEXT, b"alive2")
        op, data, _ = ws.recv_message(answer_pings=True)
        assert (op, data) == (TEXT, b"alive2")


def test_heartbeat_off_by_default_within_test_time(server):
    with open_ws(server.port) as ws:
        with pytest.raises(WSTimeout):
            ws.recv_frame(1.5)


def test_idle_timeout(make_server):
    srv = make_server("--ws-idle-timeout", "1", tls=False)
    with open_ws(srv.port) as ws:
        t0 = time.monotonic()
        code, reason = ws.expect_close(6)
        assert (code, reason) == (1001, b"idle timeout"), (code, reason)
        assert time.monotonic() - t0 < 4
    # data messages keep a connection open
    with open_ws(srv.port) as ws:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:
            assert echo_roundtrip(ws, TEXT, b"busy") == (TEXT, b"busy")
            time.sleep(0.3)


# ---------------------------------------------------------------------------
# Slow consumer, per-IP limit, stats


def test_slow_consumer_closed(make_server):
    srv = make_server("--ws-max-backlog", "65536", tls=False)
    port = srv.port
    before = stats(port)["slow_consumer_closes"]
    slow = open_ws(port, path="/ws/broadcast?topic=slow", rcvbuf=4096)
    pub = open_ws(port, path="/ws/broadcast?topic=slow")
    msg = b"s" * 16384
    closed_count = None
    try:
        for i in range(600):  # at most ~9.6 MiB
            assert pub.send_binary(msg), f"publisher lost its connection after {i} messages"
            op, data, _ = pub.recv_message(10)  # its own delivery (sender included)
            assert (op, len(data)) == (BINARY, len(msg))
            if i % 16 == 15:
                n = stats(port)["slow_consumer_closes"]
                if n > before:
                    closed_count = n
                    break
        assert closed_count is not None, "slow subscriber was never closed"
        # the publisher keeps working
        pub.send_binary(b"after")
        assert pub.recv_message(10)[:2] == (BINARY, b"after")
        # the slow socket sees EOF (after whatever was already in flight)
        data = bytearray()
        closed = False
        deadline = time.monotonic() + 10
        slow.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                b = slow.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            data += b
        assert closed, "slow consumer's socket was not closed"
        frames, _ = parse_frames(slow.buf + data)
        closes = [parse_close(f.payload) for f, _ in frames if f.opcode == CLOSE]
        if closes:  # the close frame may not fit; if it arrived it says 1008
            assert closes[0][0] == 1008, closes
    finally:
        slow.close()
        pub.close()
    assert_echo_works(port)


def test_backpressure_echo_without_reading(server):
    """A client that sends without reading its echoes: the server stops
    reading once its unsent output is large, so the client's own sends back
    up (bounded server memory), and every echo still arrives intact."""
    rss0 = vm_rss_kb(server.proc.pid)
    msg = bytes(range(256)) * 256  # 64 KiB
    frame = build_frame(BINARY, msg)
    with open_ws(server.port, rcvbuf=65536) as ws:
        ws.sock.setblocking(False)
        sent, total = 0, len(frame) * 400  # up to 25 MiB
        deadline = time.monotonic() + 5
        stalled_since = None
        while sent < total and time.monotonic() < deadline:
            try:
                n = ws.sock.send(frame[sent % len(frame):])
                sent += n
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        assert sent < total, "the server kept reading without bound"
        rss1 = vm_rss_kb(server.proc.pid)
        assert rss1 - rss0 < 32 * 1024, f"server RSS grew {rss1 - rss0} KiB"
        # finish the partial frame, then read everything back
        ws.sock.setblocking(True)
        rest = (len(frame) - sent % len(frame)) % len(frame)
        whole = sent // len(frame) + (1 if rest else 0)
        if rest:
            # the tail must be sent while reading, or both sides may block
            tail = frame[len(frame) - rest:]
        else:
            tail = b""
        got = 0
        deadline = time.monotonic() + 30
        while got < whole and time.monotonic() < deadline:
            if tail:
                ws.sock.setblocking(False)
                try:
                    n = ws.sock.send(tail)
                    tail = tail[n:]
                except BlockingIOError:
                    pass
                ws.sock.setblocking(True)
            op, data, _ = ws.recv_message(10)
            assert op == BINARY and data == msg, (got, len(data))
            got += 1
        assert got == whole


def test_max_per_ip(make_server):
    srv = make_server("--ws-max-per-ip", "3", tls=False)
    port = srv.port
    open_ = [open_ws(port) for _ in range(3)]
    try:
        expect_status(port, 429)
        assert stats(port)["rejected_per_ip"] >= 1
        first = open_.pop(0)
        first.send_close(1000)
        assert first.expect_close()[0] == 1000
        assert first.wait_eof()
        first.close()
        ok = None
        for _ in range(20):  # the slot frees once the server closed the socket
            r = handshake(port)
            if r.status == 101:
                ok = r.ws()
                break
            r.close()
            time.sleep(0.1)
        assert ok is not None, "no slot after closing one WebSocket"
        open_.append(ok)
        assert echo_roundtrip(ok, TEXT, b"x") == (TEXT, b"x")
        expect_status(port, 429)
    finally:
        for w in open_:
            w.close()


def test_max_per_ip_slot_freed_by_a_dropped_connection(make_server):
    # A socket that goes without a close handshake (TCP reset) gives its
    # place back too, and only its own: the count stays exact.
    srv = make_server("--ws-max-per-ip", "2", tls=False)
    port = srv.port
    kept, dropped = open_ws(port), open_ws(port)
    opened = []
    try:
        expect_status(port, 429)
        dropped.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        dropped.close()  # RST, no close frame
        for _ in range(50):  # the slot frees once the server saw the reset
            r = handshake(port)
            if r.status == 101:
                opened.append(r.ws())
                break
            r.close()
            time.sleep(0.1)
        assert opened, "no slot after a connection was reset"
        expect_status(port, 429)
        assert echo_roundtrip(kept, TEXT, b"still here") == (TEXT, b"still here")
    finally:
        for w in [kept, *opened]:
            w.close()


def test_stats(server):
    port = server.port
    s0 = stats(port)
    for k in ("connections", "opened", "messages_in", "messages_out", "slow_consumer_closes",
              "heartbeat_closes", "rejected_origin", "rejected_token", "rejected_per_ip",
              "publishes", "deliveries"):
        assert isinstance(s0.get(k), int), (k, s0)
    assert s0["connections"] == 0
    a, b = open_ws(port), open_ws(port)
    try:
        s1 = stats(port)
        assert s1["connections"] == 2, s1
        assert s1["opened"] >= s0["opened"] + 2
        echo_roundtrip(a, TEXT, b"1")
        echo_roundtrip(b, BINARY, b"2")
        s2 = stats(port)
        assert s2["messages_in"] >= s0["messages_in"] + 2, s2
        assert s2["messages_out"] >= s0["messages_out"] + 2, s2
    finally:
        a.send_close(1000)
        a.expect_close()
        a.close()
        b.close()  # abrupt
    for _ in range(30):
        if stats(port)["connections"] == 0:
            break
        time.sleep(0.1)
    assert stats(port)["connections"] == 0, stats(port)


def test_stats_is_json_content_type(server):
    status, headers, body = http_get(server.port, "/ws/stats")
    assert status == 200
    assert "json" in headers.get("content-type", ""), headers
    json.loads(body)


# ---------------------------------------------------------------------------
# Graceful shutdown


def test_sigterm_sends_1001(tmp_path):
    srv = Server(tmp_path, ("--drain-timeout", "5"), tls=False)
    try:
        ws = open_ws(srv.port)
        assert echo_roundtrip(ws, TEXT, b"before") == (TEXT, b"before")
        srv.proc.send_signal(signal.SIGTERM)
        code, _ = ws.expect_close(5)
        assert code == 1001, code
        ws.send_close(1001)
        assert ws.wait_eof(5)
        ws.close()
        assert srv.proc.wait(timeout=10) == 0, srv.output()
    finally:
        srv.kill()


def test_sigterm_with_unresponsive_client_exits(tmp_path):
    """A client that never answers the close still lets the server exit 0
    within the drain deadline."""
    srv = Server(tmp_path, ("--drain-timeout", "2"), tls=False)
    try:
        ws = open_ws(srv.port)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=10) == 0, srv.output()
        assert time.monotonic() - t0 < 8
        ws.close()
    finally:
        srv.kill()


def test_sigterm_right_after_abrupt_client_close_is_prompt(tmp_path):
    """A client drops its TCP connection (no close frame) just before SIGTERM:
    nothing is left to wait for, so the server exits at once rather than after
    a close-handshake timeout. The race is timing dependent: a few rounds."""
    for i in range(5):
        d = tmp_path / f"r{i}"
        d.mkdir()
        srv = Server(d, ("--drain-timeout", "8"), tls=False)
        try:
            ws = open_ws(srv.port)
            payload = b"a" * 76800
            assert echo_roundtrip(ws, BINARY, payload) == (BINARY, payload)
            ws.close()
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            assert srv.proc.wait(timeout=15) == 0, srv.output()
            took = time.monotonic() - t0
            assert took < 2.5, f"round {i}: exit took {took:.1f}s after SIGTERM"
        finally:
            srv.kill()
