"""Small HTTP/2 test client: the `h2` state machine over a blocking socket,
plus raw frame helpers for tests that must send what `h2` would refuse to.

Everything is bounded by explicit timeouts; nothing here binds a port.
"""
import socket
import ssl
import struct
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 §6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
FRAME_NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM",
               SETTINGS: "SETTINGS", PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY",
               WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8

# Error codes (RFC 9113 §7).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB


# ---------------------------------------------------------------------------
# Raw frames


def frame(ftype, flags, stream_id, payload=b""):
    """Serialises one frame."""
    n = len(payload)
    return struct.pack(">BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def settings_frame(entries=(), ack=False):
    payload = b"".join(struct.pack(">HI", k, v) for k, v in entries)
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def headers_frame(stream_id, block, end_stream=True, end_headers=True):
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, stream_id, block)


def rst_frame(stream_id, code=CANCEL):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def ping_frame(data=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def window_update_frame(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def request_block(encoder, path="/plaintext", method="GET", authority="127.0.0.1",
                  scheme="http", extra=()):
    """HPACK-encodes a request header list with `encoder` (an hpack.Encoder)."""
    hdrs = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
    hdrs += list(extra)
    return encoder.encode(hdrs)


class Frame:
    __slots__ = ("type", "flags", "stream_id", "payload")

    def __init__(self, ftype, flags, stream_id, payload):
        self.type, self.flags, self.stream_id, self.payload = ftype, flags, stream_id, payload

    @property
    def error_code(self):
        """Error code of a RST_STREAM or GOAWAY frame."""
        if self.type == RST_STREAM:
            return struct.unpack(">I", self.payload[:4])[0]
        if self.type == GOAWAY:
            return struct.unpack(">I", self.payload[4:8])[0]
        return None

    @property
    def last_stream_id(self):
        assert self.type == GOAWAY
        return struct.unpack(">I", self.payload[:4])[0] & 0x7FFFFFFF

    def __repr__(self):
        name = FRAME_NAMES.get(self.type, f"type{self.type}")
        extra = ""
        if self.type in (RST_STREAM, GOAWAY):
            extra = f" error=0x{self.error_code:x}"
        return f"<{name} flags=0x{self.flags:x} stream={self.stream_id} len={len(self.payload)}{extra}>"


class FrameReader:
    """Incremental parser of server frames read from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def _parse(self):
        out = []
        while len(self.buf) >= 9:
            n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
            if len(self.buf) < 9 + n:
                break
            ftype, flags = self.buf[3], self.buf[4]
            sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
            out.append(Frame(ftype, flags, sid, self.buf[9:9 + n]))
            self.buf = self.buf[9 + n:]
        return out

    def read(self, timeout=5.0, until=None):
        """Reads frames until `until(frame)` is true, the peer closes, or
        `timeout` seconds pass. Returns the frames read."""
        frames = []
        deadline = time.monotonic() + timeout
        while not self.closed:
            got = self._parse()
            frames += got
            if until and any(until(f) for f in got):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                b = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                self.closed = True
                break
            if not b:
                self.closed = True
                break
            self.buf += b
        frames += self._parse()
        return frames


def raw_connect(port, timeout=5.0, tls=False, ca=None, server_hostname="localhost"):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname=server_hostname)
        assert s.selected_alpn_protocol() == "h2"
    return s


class RawH2:
    """A hand-driven HTTP/2 connection: sends exactly the bytes it is given."""

    def __init__(self, port, timeout=5.0, settings=(), send_preface=True, **kw):
        self.sock = raw_connect(port, timeout=timeout, **kw)
        self.reader = FrameReader(self.sock)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.headers = {}  # stream id -> [decoded header lists]
        self._hblock = None
        self.frames = []  # everything received so far
        if send_preface:
            self.send(PREFACE + settings_frame(settings))

    def send(self, data):
        """Sends bytes; returns False if the peer already closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return False

    def read(self, timeout=5.0, until=None):
        got = self.reader.read(timeout=timeout, until=until)
        self.frames += got
        self._decode_headers(got)
        return got

    def read_until_closed(self, timeout=10.0):
        return self.read(timeout=timeout, until=None)

    def goaway(self):
        """The first GOAWAY received, or None."""
        for f in self.frames:
            if f.type == GOAWAY:
                return f
        return None

    def rsts(self, stream_id=None):
        return [f for f in self.frames if f.type == RST_STREAM
                and (stream_id is None or f.stream_id == stream_id)]

    def stream_frames(self, stream_id):
        return [f for f in self.frames if f.stream_id == stream_id]

    def _decode_headers(self, frames):
        for f in frames:
            if f.type == HEADERS:
                block = f.payload
                if f.flags & PADDED:
                    pad = block[0]
                    block = block[1:len(block) - pad]
                if f.flags & 0x20:  # PRIORITY
                    block = block[5:]
                self._hblock = (f.stream_id, block)
            elif f.type == CONTINUATION and self._hblock:
                self._hblock = (self._hblock[0], self._hblock[1] + f.payload)
            else:
                continue
            if f.flags & END_HEADERS:
                sid, block = self._hblock
                self._hblock = None
                self.headers.setdefault(sid, []).append(self.decoder.decode(block))

    def status(self, stream_id):
        """:status of the first header block received on `stream_id`, or None."""
        blocks = self.headers.get(stream_id)
        if not blocks:
            return None
        return dict(blocks[0]).get(":status")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# `h2`-library client


class Response:
    def __init__(self):
        self.headers = []        # [(name, value)] as received (str)
        self.trailers = []
        self.body = bytearray()
        self.data_frames = 0     # DATA frames that carried payload
        self.ended = False
        self.reset = None        # RST_STREAM error code, if reset

    @property
    def status(self):
        for k, v in self.headers:
            if k == ":status":
                return int(v)
        return None

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


class H2Client:
    """Blocking HTTP/2 client over `h2` with explicit, bounded event loops."""

    def __init__(self, port, tls=False, ca=None, timeout=10.0, local_settings=None,
                 auto_window=True, server_hostname="localhost"):
        self.sock = raw_connect(port, timeout=timeout, tls=tls, ca=ca,
                                server_hostname=server_hostname)
        self.timeout = timeout
        self.scheme = "https" if tls else "http"
        self.authority = f"localhost:{port}" if tls else f"127.0.0.1:{port}"
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        if local_settings:
            self.conn.local_settings = h2.settings.Settings(client=True,
                                                            initial_values=local_settings)
        self.conn.initiate_connection()
        self.auto_window = auto_window
        self.responses = {}
        self.events = []
        self.goaway = None
        self.closed = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None, end_stream=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", self.scheme), (":authority", self.authority),
                (":path", path)] + list(headers)
        if body is not None:
            hdrs.append(("content-length", str(len(body))))
        self.conn.send_headers(sid, hdrs, end_stream=end_stream and body is None)
        self.responses[sid] = Response()
        self.flush()
        if body is not None:
            self._pending_body = getattr(self, "_pending_body", {})
            self._pending_body[sid] = memoryview(body)
            self._send_pending()
        return sid

    def _send_pending(self):
        pending = getattr(self, "_pending_body", {})
        for sid in list(pending):
            view = pending[sid]
            while len(view):
                window = min(self.conn.local_flow_control_window(sid),
                             self.conn.max_outbound_frame_size)
                if window <= 0:
                    break
                chunk = view[:window]
                self.conn.send_data(sid, chunk.tobytes())
                view = view[window:]
            if len(view) == 0:
                self.conn.end_stream(sid)
                del pending[sid]
            else:
                pending[sid] = view
        self.flush()

    def _handle(self, event):
        self.events.append(event)
        r = self.responses.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            r.headers = list(event.headers)
        elif isinstance(event, h2.events.TrailersReceived):
            r.trailers = list(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            if r is not None:
                r.body += event.data
                if event.data:
                    r.data_frames += 1
            if self.auto_window and event.flow_controlled_length:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            r.ended = True
        elif isinstance(event, h2.events.StreamReset):
            if r is not None:
                r.reset = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
        elif isinstance(event, h2.events.WindowUpdated):
            pass

    def pump(self, until, timeout=None):
        """Reads and handles events until `until()` is true; returns until()."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                break
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except (ConnectionResetError, ssl.SSLError, OSError):
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            for ev in self.conn.receive_data(data):
                self._handle(ev)
            self._send_pending()
        return until()

    def wait(self, sid, timeout=None):
        r = self.responses[sid]
        self.pump(lambda: r.ended or r.reset is not None or self.goaway is not None, timeout)
        return r

    def wait_all(self, sids, timeout=None):
        rs = [self.responses[s] for s in sids]
        self.pump(lambda: all(r.ended or r.reset is not None for r in rs)
                  or self.goaway is not None, timeout)
        return rs

    def get(self, path, headers=(), timeout=None):
        return self.wait(self.request("GET", path, headers), timeout)

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def assert_healthy(server, tls=False):
    """A brand-new HTTP/2 client gets 200 "Hello, World!" from /plaintext."""
    assert server.alive(), "server died:\n" + server.output()
    port = server.tls_port if tls else server.port
    with H2Client(port, tls=tls, ca=server.ca if tls else None, timeout=10) as c:
        r = c.get("/plaintext")
        assert r.status == 200, f"new client got {r.status} (reset={r.reset}, goaway={c.goaway})"
        assert bytes(r.body) == b"Hello, World!"


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
