"""permessage-deflate (RFC 7692) on trident's WebSocket server, raw sockets:
negotiation (the server always answers with server_no_context_takeover and
client_no_context_takeover), window bits, declined offers, compressed echo
checked with Python's zlib, the compression threshold, a deflate bomb, and
the errors only deflate can produce. The contract is docs/websocket.md.
"""
import os
import zlib

import pytest

from wsclient import (BINARY, CONT, TEXT, RSV1, assert_echo_works, build_frame, deflate,
                      expect_fail, handshake, inflate, open_ws, parse_extensions)

PMD = "permessage-deflate"


def negotiated(port, offer):
    """Opens /ws/echo offering `offer`; returns (ws, params or None)."""
    ws = open_ws(port, extensions=offer)
    exts = parse_extensions(ws.headers.get("sec-websocket-extensions"))
    assert len(exts) <= 1, exts
    if not exts:
        return ws, None
    name, params = exts[0]
    assert name == PMD, exts
    return ws, params


def test_negotiation_basic(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None, "permessage-deflate not negotiated"
        assert "server_no_context_takeover" in params, params
        assert "client_no_context_takeover" in params, params
        assert params["server_no_context_takeover"] is None
        assert params["client_no_context_takeover"] is None
        assert set(params) <= {"server_no_context_takeover", "client_no_context_takeover",
                               "server_max_window_bits", "client_max_window_bits"}, params
    finally:
        ws.close()


@pytest.mark.parametrize("offer", [
    f"{PMD}; client_max_window_bits",
    f"{PMD}; client_max_window_bits=12",
    f"{PMD}; server_no_context_takeover",
    f"{PMD}; client_no_context_takeover",
    f"{PMD}; server_max_window_bits=15",
    f"{PMD}; server_max_window_bits=9",
    f"{PMD}; server_no_context_takeover; client_no_context_takeover; client_max_window_bits",
])
def test_negotiation_accepted_offers(server, offer):
    ws, params = negotiated(server.port, offer)
    try:
        assert params is not None, f"{offer!r} was declined"
        assert "server_no_context_takeover" in params and "client_no_context_takeover" in params
    finally:
        ws.close()


def test_server_max_window_bits_10_honoured(server):
    ws, params = negotiated(server.port, f"{PMD}; server_max_window_bits=10")
    try:
        assert params is not None
        assert params.get("server_max_window_bits") == "10", params
        # Matches 2000 bytes back exist; a server using a bigger window would
        # emit distances a 10-bit inflater rejects.
        block = os.urandom(2000)
        msg = block * 4
        ws.send_frame(BINARY, msg)
        f = ws.recv_frame()
        assert f.fin and f.opcode == BINARY and f.rsv == RSV1, f
        assert inflate(f.payload, wbits=10) == msg
    finally:
        ws.close()


@pytest.mark.parametrize("offer", [
    f"{PMD}; server_max_window_bits=8",
    f"{PMD}; server_max_window_bits=16",
    f"{PMD}; server_max_window_bits=abc",
    f"{PMD}; server_max_window_bits",
    f"{PMD}; client_max_window_bits=7",
    f"{PMD}; client_max_window_bits=16",
    f"{PMD}; unknown_param",
    f"{PMD}; foo=1",
    f"{PMD}; server_no_context_takeover; server_no_context_takeover",
    f"{PMD}; client_max_window_bits; client_max_window_bits=10",
    f"{PMD}; server_no_context_takeover=1",
    "x-webkit-deflate-frame",
], ids=["smwb8", "smwb16", "smwb-abc", "smwb-novalue", "cmwb7", "cmwb16", "unknown",
        "unknown-value", "dup-snct", "dup-cmwb", "snct-value", "other-ext"])
def test_invalid_offers_declined(server, offer):
    r = handshake(server.port, extensions=offer)
    try:
        assert r.status == 101, (r.status, r.headers)
        assert "sec-websocket-extensions" not in r.headers, r.headers
        ws = r.ws()
        # and the connection works without compression
        ws.send_frame(TEXT, b"x" * 100)
        f = ws.recv_frame()
        assert (f.rsv, f.opcode, f.payload) == (0, TEXT, b"x" * 100), f
    finally:
        r.close()


def test_fallback_to_second_offer(server):
    ws, params = negotiated(server.port,
                            f"{PMD}; foo=1, {PMD}; server_max_window_bits=8, "
                            f"{PMD}; server_max_window_bits=11")
    try:
        assert params is not None, "valid third offer not accepted"
        assert params.get("server_max_window_bits") == "11", params
    finally:
        ws.close()


def test_fallback_in_second_header_line(server):
    r = handshake(server.port, headers=[("Sec-WebSocket-Extensions", f"{PMD}; bogus"),
                                        ("Sec-WebSocket-Extensions", PMD)])
    try:
        assert r.status == 101
        exts = parse_extensions(r.headers.get("sec-websocket-extensions"))
        assert [e[0] for e in exts] == [PMD], r.headers
    finally:
        r.close()


def test_no_ws_deflate_flag(make_server):
    srv = make_server("--no-ws-deflate", tls=False)
    ws, params = negotiated(srv.port, f"{PMD}; client_max_window_bits")
    try:
        assert params is None
        ws.send_frame(TEXT, b"y" * 200)
        f = ws.recv_frame()
        assert (f.rsv, f.payload) == (0, b"y" * 200), f
        # RSV1 is a protocol error without the extension
        ws.send_frame(TEXT, deflate(b"z" * 200), rsv=RSV1)
        expect_fail(ws, 1002)
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Compressed echo


@pytest.mark.parametrize("n", [64, 100, 1000, 65536, 300000])
@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "binary"])
def test_compressed_echo(server, opcode, n):
    msg = (b"hello deflate " * (n // 14 + 1))[:n] if opcode == TEXT else os.urandom(n // 2) * 2
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        for _ in range(2):  # twice: no context takeover in either direction
            ws.send_frame(opcode, deflate(msg), rsv=RSV1)
            op, data, rsv = ws.recv_message(10)
            assert op == opcode
            if opcode == TEXT:  # compressible: must come back compressed
                assert rsv == RSV1, "message >= 64 bytes should come back compressed"
            assert (inflate(data) if rsv else data) == msg
    finally:
        ws.close()


def test_small_messages_not_compressed(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        for n in (0, 1, 63):
            msg = b"a" * n
            ws.send_frame(TEXT, deflate(msg), rsv=RSV1)
            op, data, rsv = ws.recv_message()
            assert (op, rsv, data) == (TEXT, 0, msg), (n, rsv, data)
        ws.send_frame(TEXT, deflate(b"b" * 64), rsv=RSV1)
        op, data, rsv = ws.recv_message()
        assert rsv == RSV1 and inflate(data) == b"b" * 64
    finally:
        ws.close()


def test_compress_min_flag(make_server):
    srv = make_server("--ws-compress-min", "1000", tls=False)
    ws, params = negotiated(srv.port, PMD)
    try:
        assert params is not None
        ws.send_frame(TEXT, b"c" * 999)
        assert ws.recv_message()[1:] == (b"c" * 999, 0)
        ws.send_frame(TEXT, b"c" * 1000)
        op, data, rsv = ws.recv_message()
        assert rsv == RSV1 and inflate(data) == b"c" * 1000
    finally:
        ws.close()


def test_uncompressed_frames_allowed_after_negotiation(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_frame(BINARY, b"\x00" * 200)  # RSV1 clear: not compressed
        op, data, rsv = ws.recv_message()
        assert op == BINARY
        assert (inflate(data) if rsv else data) == b"\x00" * 200
    finally:
        ws.close()


def test_compressed_fragmented_message(server):
    msg = ("fragmented κόσμε " * 200).encode()
    comp = deflate(msg)
    a, b = len(comp) // 3, 2 * len(comp) // 3
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_frame(TEXT, comp[:a], rsv=RSV1, fin=False)
        ws.send_frame(CONT, comp[a:b], fin=False)
        ws.send_frame(CONT, comp[b:], fin=True)
        op, data, rsv = ws.recv_message()
        assert op == TEXT and rsv == RSV1
        assert inflate(data) == msg
    finally:
        ws.close()


def test_compressed_with_bfinal_block(server):
    """A sender may finish with a BFINAL block instead of a sync flush."""
    msg = b"final block " * 50
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    comp = c.compress(msg) + c.flush(zlib.Z_FINISH)
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_frame(BINARY, comp, rsv=RSV1)
        op, data, rsv = ws.recv_message()
        assert (inflate(data) if rsv else data) == msg
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Errors


def test_deflate_bomb_is_1009(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)
    bomb = deflate(b"\x00" * 800_000)  # ~800 bytes on the wire
    assert len(bomb) < 1000
    ws, params = negotiated(srv.port, PMD)
    try:
        assert params is not None
        ws.send_frame(BINARY, bomb, rsv=RSV1)
        expect_fail(ws, 1009)
    finally:
        ws.close()
    assert_echo_works(srv.port)


def test_inflated_just_over_limit_is_1009(make_server):
    srv = make_server("--ws-max-message", "1000", tls=False)
    ws, params = negotiated(srv.port, PMD)
    try:
        assert params is not None
        ws.send_frame(TEXT, deflate(b"a" * 1000), rsv=RSV1)
        op, data, rsv = ws.recv_message()
        assert (inflate(data) if rsv else data) == b"a" * 1000
        ws.send_frame(TEXT, deflate(b"a" * 1001), rsv=RSV1)
        expect_fail(ws, 1009)
    finally:
        ws.close()


def test_compressed_invalid_utf8_is_1007(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_frame(TEXT, deflate(b"valid prefix " * 10 + b"\xed\xa0\x80 tail"), rsv=RSV1)
        expect_fail(ws, 1007)
    finally:
        ws.close()
    assert_echo_works(server.port)


def test_rsv1_on_continuation_is_1002(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        comp = deflate(b"abc" * 100)
        ws.send_frame(TEXT, comp[:5], rsv=RSV1, fin=False)
        ws.send_frame(CONT, comp[5:], rsv=RSV1, fin=True)
        expect_fail(ws, 1002)
    finally:
        ws.close()
    assert_echo_works(server.port)


def test_rsv1_on_control_frame_is_1002(server):
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_raw(build_frame(0x9, b"ping", rsv=RSV1))
        expect_fail(ws, 1002)
    finally:
        ws.close()


def test_corrupt_deflate_stream_fails(server):
    """Garbage that is not a deflate stream: the connection is failed with a
    close frame (1002 or 1007 are both reasonable; the spec does not say), and
    the server keeps serving."""
    ws, params = negotiated(server.port, PMD)
    try:
        assert params is not None
        ws.send_frame(BINARY, b"\xff\xff\xff\xff\xff\xff", rsv=RSV1)
        code, _ = ws.expect_close()
        assert code is not None and code >= 1002 and code != 1005, code
        ws.send_close(1000)
        assert ws.wait_eof()
    finally:
        ws.close()
    assert_echo_works(server.port)
