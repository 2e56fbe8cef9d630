"""Raw RFC 6455 client for the WebSocket tests: handshake, frame builder
(masked or not, any RSV bits / opcode / length encoding), incremental frame
reader and close-frame helpers. It sends exactly what it is told to, so tests
can send what a real client never would.

Everything is bounded by explicit timeouts; nothing here binds a port.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import time
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Opcodes.
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# RSV bits as the 3-bit value returned by the reader (RSV1 is the high bit).
RSV1, RSV2, RSV3 = 4, 2, 1

TIMEOUT = 5.0


class WSClosed(Exception):
    """The peer closed the TCP connection (EOF or reset) before a whole frame."""


class WSTimeout(Exception):
    """No whole frame arrived in time."""


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


# ---------------------------------------------------------------------------
# Frames


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None, length_form=None):
    """Serialises one frame. `rsv` is the 3-bit RSV value (RSV1=4, RSV2=2, RSV3=1).
    `length_form` forces the length encoding: 7, 16 or 64 (bits); by default the
    minimal one is used."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if length_form is None:
        length_form = 7 if n <= 125 else 16 if n <= 0xFFFF else 64
    if length_form == 7:
        assert n <= 125
        head = struct.pack(">BB", b0, mbit | n)
    elif length_form == 16:
        assert n <= 0xFFFF
        head = struct.pack(">BBH", b0, mbit | 126, n)
    else:
        head = struct.pack(">BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    return head + key + apply_mask(payload, key)


def apply_mask(data, key):
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack(">H", code) + reason


def parse_close(payload):
    """(code, reason bytes) of a close frame payload; code is None when empty."""
    if len(payload) == 0:
        return None, b""
    if len(payload) == 1:
        raise AssertionError(f"1-byte close payload from server: {payload!r}")
    return struct.unpack(">H", payload[:2])[0], payload[2:]


class Frame(tuple):
    """(fin, rsv, opcode, payload), with names."""
    __slots__ = ()

    def __new__(cls, fin, rsv, opcode, payload):
        return super().__new__(cls, (fin, rsv, opcode, payload))

    fin = property(lambda self: self[0])
    rsv = property(lambda self: self[1])
    opcode = property(lambda self: self[2])
    payload = property(lambda self: self[3])

    def __repr__(self):
        p = self.payload
        shown = p[:40] + (b"..." if len(p) > 40 else b"")
        return f"<frame fin={int(self.fin)} rsv={self.rsv} op={self.opcode} len={len(p)} {shown!r}>"


def parse_one(buf, pos=0):
    """Parses one frame at `buf[pos:]`; returns (Frame, masked, end) or None if incomplete."""
    if len(buf) - pos < 2:
        return None
    b0, b1 = buf[pos], buf[pos + 1]
    n = b1 & 0x7F
    hl = 2
    if n == 126:
        if len(buf) - pos < 4:
            return None
        n = struct.unpack(">H", bytes(buf[pos + 2:pos + 4]))[0]
        hl = 4
    elif n == 127:
        if len(buf) - pos < 10:
            return None
        n = struct.unpack(">Q", bytes(buf[pos + 2:pos + 10]))[0]
        hl = 10
    masked = bool(b1 & 0x80)
    if masked:
        hl += 4
    if len(buf) - pos < hl + n:
        return None
    payload = bytes(buf[pos + hl:pos + hl + n])
    if masked:
        payload = apply_mask(payload, bytes(buf[pos + hl - 4:pos + hl]))
    return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload), masked, pos + hl + n


def parse_frames(buf):
    """Parses every whole frame in `buf`; returns ([(Frame, masked)], rest)."""
    frames, pos = [], 0
    while True:
        got = parse_one(buf, pos)
        if got is None:
            return frames, bytes(buf[pos:])
        f, masked, pos = got
        frames.append((f, masked))


# ---------------------------------------------------------------------------
# HTTP head


def parse_head(data):
    """(status, headers dict (lower-case names; repeated names joined with ', '), rest)."""
    end = data.find(b"\r\n\r\n")
    assert end >= 0, data
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k, v = k.strip().lower(), v.strip()
        headers[k] = f"{headers[k]}, {v}" if k in headers else v
    return status, headers, data[end + 4:]


def read_head(sock, timeout=TIMEOUT):
    """Reads until a whole response head arrived; returns (status, headers, rest)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WSTimeout(f"no response head within {timeout}s, got {buf!r}")
        sock.settimeout(remaining)
        try:
            b = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        if not b:
            raise WSClosed(f"EOF before a response head, got {buf!r}")
        buf += b
        assert len(buf) < 1 << 20
    return parse_head(buf)


def handshake_request(path="/ws/echo", host="127.0.0.1", key=None, version="13", method="GET",
                      upgrade=True, headers=(), protocols=None, extensions=None, origin=None):
    """The bytes of an opening handshake; `key=False` / `version=None` omit them."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade"]
    if key is None:
        key = new_key()
    if key is not False:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    if extensions is not None:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    for k, v in headers:
        lines.append(f"{k}: {v}")
    if method != "GET":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


class HandshakeResult:
    def __init__(self, sock, status, headers, rest, key):
        self.sock, self.status, self.headers, self.rest, self.key = sock, status, headers, rest, key

    def ws(self):
        assert self.status == 101, (self.status, self.headers, self.rest)
        return WS(self.sock, self.rest)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect(port, rcvbuf=None, timeout=TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def handshake(port, path="/ws/echo", host=None, rcvbuf=None, extra=b"", timeout=TIMEOUT, **kw):
    """Connects, sends an opening handshake (+ `extra` bytes in the same write)
    and reads the response head. Returns a HandshakeResult (socket left open)."""
    host = host or f"127.0.0.1:{port}"
    req, key = handshake_request(path=path, host=host, **kw)
    sock = connect(port, rcvbuf=rcvbuf, timeout=timeout)
    try:
        sock.sendall(req + extra)
        status, headers, rest = read_head(sock, timeout)
    except BaseException:
        sock.close()
        raise
    return HandshakeResult(sock, status, headers, rest, key)


def open_ws(port, path="/ws/echo", **kw):
    """A WebSocket that must open (101 with the right accept key)."""
    r = handshake(port, path=path, **kw)
    if r.status != 101:
        r.close()
        raise AssertionError(f"handshake to {path}: {r.status} {r.headers} {r.rest!r}")
    assert r.headers.get("sec-websocket-accept") == accept_for(r.key), r.headers
    ws = WS(r.sock, r.rest)
    ws.headers = r.headers
    return ws


# ---------------------------------------------------------------------------
# Connection


class WS:
    """A client-side WebSocket over a blocking socket."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)
        self.eof = False
        self.headers = {}

    # sending -------------------------------------------------------------

    def send_raw(self, data):
        """Sends bytes; returns False if the peer already closed the connection."""
        try:
            self.sock.settimeout(TIMEOUT * 2)
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            return False

    def send_frame(self, opcode, payload=b"", **kw):
        return self.send_raw(build_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        return self.send_frame(TEXT, text.encode() if isinstance(text, str) else text, **kw)

    def send_binary(self, data, **kw):
        return self.send_frame(BINARY, data, **kw)

    def send_close(self, code=None, reason=b""):
        return self.send_frame(CLOSE, close_payload(code, reason))

    # receiving -----------------------------------------------------------

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WSTimeout("timeout")
        self.sock.settimeout(min(remaining, 1.0))
        try:
            b = self.sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            return
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        if not b:
            self.eof = True
            raise WSClosed("EOF")
        self.buf += b

    def recv_frame(self, timeout=TIMEOUT):
        """The next frame as (fin, rsv, opcode, payload). Raises WSClosed on EOF
        and WSTimeout after `timeout` seconds. Server frames must be unmasked."""
        deadline = time.monotonic() + timeout
        while True:
            got = parse_one(self.buf)
            if got is not None:
                f, masked, end = got
                del self.buf[:end]
                assert not masked, f"server sent a masked frame: {f!r}"
                return f
            if self.eof:
                raise WSClosed(f"EOF with {len(self.buf)} unparsed bytes")
            self._fill(deadline)

    def recv_message(self, timeout=TIMEOUT, answer_pings=False):
        """One whole data message as (opcode, payload, first_frame_rsv).
        Control frames in between: pings are answered if `answer_pings`, pongs
        are skipped, a close frame raises AssertionError."""
        deadline = time.monotonic() + timeout
        opcode, parts, rsv = None, [], 0
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if f.opcode == PING:
                if answer_pings:
                    self.send_frame(PONG, f.payload)
                continue
            if f.opcode == PONG:
                continue
            if f.opcode == CLOSE:
                raise AssertionError(f"expected a message, got close {parse_close(f.payload)}")
            if opcode is None:
                assert f.opcode in (TEXT, BINARY), f
                opcode, rsv = f.opcode, f.rsv
            else:
                assert f.opcode == CONT, f"new data frame inside a message: {f!r}"
            parts.append(f.payload)
            if f.fin:
                return opcode, b"".join(parts), rsv

    def expect_close(self, timeout=TIMEOUT, skip_data=True):
        """Reads frames until a close frame; returns (code, reason). Data frames
        and pings before it are skipped when `skip_data`. Raises WSClosed if
        TCP closes first."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if f.opcode == CLOSE:
                return parse_close(f.payload)
            assert skip_data, f"expected close, got {f!r}"

    def wait_eof(self, timeout=TIMEOUT):
        """True when the server closes TCP within `timeout` (data is discarded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.eof:
            self.buf.clear()
            try:
                self._fill(deadline)
            except WSClosed:
                return True
            except WSTimeout:
                return False
        return self.eof

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def echo_roundtrip(ws, opcode, payload, timeout=TIMEOUT * 2):
    assert ws.send_frame(opcode, payload)
    op, data, _ = ws.recv_message(timeout)
    return op, data


def assert_echo_works(port, path="/ws/echo"):
    """A brand-new client completes a handshake and gets a text echo."""
    with open_ws(port, path=path) as ws:
        op, data = echo_roundtrip(ws, TEXT, b"still alive")
        assert (op, data) == (TEXT, b"still alive")
        ws.send_close(1000)
        code, _ = ws.expect_close()
        assert code == 1000


def expect_fail(ws, code, timeout=TIMEOUT):
    """The server must send a close frame with `code` then close TCP (the client
    answers the close, as a real client would)."""
    got, reason = ws.expect_close(timeout)
    assert got == code, f"expected close {code}, got {got} {reason!r}"
    ws.send_close(code)  # what a well-behaved client answers
    assert ws.wait_eof(timeout), "server did not close TCP after its close frame"
    return reason


def frame_header_sizes(buf):
    """[(header bytes, payload length, Frame)] of every whole frame in buf."""
    out, pos = [], 0
    while True:
        got = parse_one(buf, pos)
        if got is None:
            return out
        f, masked, end = got
        out.append((end - pos - len(f.payload), len(f.payload), f))
        pos = end


# ---------------------------------------------------------------------------
# permessage-deflate helpers (RFC 7692: raw deflate, no context takeover)


def deflate(data, wbits=15):
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def inflate(data, wbits=15, limit=64 << 20):
    d = zlib.decompressobj(-wbits)
    out = d.decompress(data + b"\x00\x00\xff\xff", limit)
    assert not d.unconsumed_tail, "inflated message larger than the test limit"
    return out


def parse_extensions(value):
    """'permessage-deflate; a; b=1, x' ->
    [('permessage-deflate', {'a': None, 'b': '1'}), ('x', {})]"""
    out = []
    if not value:
        return out
    for offer in value.split(","):
        parts = [p.strip() for p in offer.split(";")]
        params = {}
        for p in parts[1:]:
            k, eq, v = p.partition("=")
            params[k.strip()] = v.strip().strip('"') if eq else None
        out.append((parts[0], params))
    return out


# ---------------------------------------------------------------------------
# HTTP helpers


def http_get(port, path, timeout=TIMEOUT):
    """Plain HTTP/1.1 GET with Connection: close; returns (status, headers, body)."""
    s = connect(port, timeout=timeout)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                  .encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except ConnectionResetError:
                break
            if not b:
                break
            data += b
    finally:
        s.close()
    status, headers, body = parse_head(data)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return status, headers, body


def dechunk(body):
    out = b""
    while body:
        line, _, body = body.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += body[:n]
        body = body[n + 2:]
    return out


def stats(port):
    status, headers, body = http_get(port, "/ws/stats")
    assert status == 200, (status, body)
    return json.loads(body)
