"""gRPC helpers for the integration tests: message classes and stubs built at
test time from a protoc descriptor set, grpcio channels to trident, and raw
gRPC-over-HTTP/2 helpers on top of h2client.H2Client for bad-input tests.

No `protoc --python_out`: its output for grpc/health/v1/health.proto would be
imported as `grpc.health.v1`, which collides with grpcio's own `grpc` package.
protoc writes a FileDescriptorSet instead and google.protobuf.message_factory
builds the classes from it (as tests/interop/python_interop_client.py does).
"""
import base64
import functools
import os
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.parse

import grpc
import h2.events
import h2.exceptions
from google.protobuf import descriptor_pb2, message_factory

import h2client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("TRIDENT_SHARED_DIR", os.path.join(os.path.dirname(REPO), "shared"))
GRPC_PROTO = "/usr/share/grpc-proto"
PROTO_DIRS = (GRPC_PROTO, os.path.join(SHARED, "bench"),
              os.path.join(REPO, "tools", "trident", "proto"))
PROTOS = ("bench.proto", "payments.proto", "grpc/health/v1/health.proto",
          "grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto",
          "grpc/testing/test.proto")

# Services `trident serve` registers.
SERVE_SERVICES = ("bench.Bench", "payments.PaymentService", "grpc.health.v1.Health",
                  "grpc.reflection.v1.ServerReflection",
                  "grpc.reflection.v1alpha.ServerReflection")

MAX_MESSAGE = 4 << 20  # trident's default receive / send limit


class Protos:
    """Message classes by full name (`protos["bench.Payload"]`), the
    FileDescriptorProtos protoc produced, and the services they declare."""

    def __init__(self, fds):
        self.files = {f.name: f for f in fds.file}
        if hasattr(message_factory, "GetMessageClassesForFiles"):  # protobuf >= 4.25
            from google.protobuf import descriptor_pool
            pool = descriptor_pool.DescriptorPool()
            for f in fds.file:
                pool.Add(f)
            self.classes = message_factory.GetMessageClassesForFiles(list(self.files), pool)
        else:
            self.classes = message_factory.GetMessages(list(fds.file))
        self.services = {}  # full name -> {method: (kind, request class, response class)}
        for f in fds.file:
            for s in f.service:
                methods = {}
                for m in s.method:
                    kind = {(False, False): "unary_unary", (False, True): "unary_stream",
                            (True, False): "stream_unary", (True, True): "stream_stream"}[
                        (m.client_streaming, m.server_streaming)]
                    methods[m.name] = (kind, self.classes[m.input_type.lstrip(".")],
                                       self.classes[m.output_type.lstrip(".")])
                self.services[f"{f.package}.{s.name}" if f.package else s.name] = methods

    def __getitem__(self, name):
        return self.classes[name]


@functools.lru_cache(maxsize=1)
def protos():
    protoc = shutil.which("protoc")
    assert protoc, "protoc not on PATH (Debian protobuf-compiler)"
    for d in PROTO_DIRS:
        assert os.path.isdir(d), f"proto directory {d} missing"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "all.desc")
        subprocess.run([protoc, *(f"-I{d}" for d in PROTO_DIRS), "--include_imports",
                        f"--descriptor_set_out={out}", *PROTOS],
                       check=True, timeout=60, capture_output=True)
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    return Protos(fds)


class Stub:
    """A client stub for one service: `Stub(channel, "bench.Bench").Unary(req)`."""

    def __init__(self, channel, service):
        methods = protos().services[service]
        for name, (kind, req, resp) in methods.items():
            setattr(self, name, getattr(channel, kind)(
                f"/{service}/{name}", request_serializer=req.SerializeToString,
                response_deserializer=resp.FromString))


def channel(port, tls=False, ca=None, options=()):
    """A grpcio channel to 127.0.0.1:port: h2c with prior knowledge, or TLS
    verified with `ca` under the name 'localhost'. Its own subchannel pool, so
    no connection is shared with another channel."""
    opts = [("grpc.use_local_subchannel_pool", 1)] + list(options)
    target = f"127.0.0.1:{port}"
    if not tls:
        return grpc.insecure_channel(target, options=opts)
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    opts.append(("grpc.ssl_target_name_override", "localhost"))
    return grpc.secure_channel(target, creds, options=opts)


def server_channel(server, tls=False, options=()):
    """A channel to a conftest.Server: its plaintext port or its TLS port."""
    if tls:
        return channel(server.tls_port, tls=True, ca=server.ca, options=options)
    return channel(server.port, options=options)


def wait_ready(ch, timeout=10.0):
    grpc.channel_ready_future(ch).result(timeout=timeout)


# ---------------------------------------------------------------------------
# Raw gRPC over HTTP/2 (h2client.H2Client)


def lpm(payload, flag=0, length=None):
    """One length-prefixed message: flag byte, 4-byte big-endian length, payload."""
    return struct.pack(">BI", flag, len(payload) if length is None else length) + payload


def parse_lpms(body):
    """[(flag, payload)] of a response body; asserts it is well framed."""
    out, body = [], bytes(body)
    while body:
        assert len(body) >= 5, f"truncated length prefix in response body: {body!r}"
        flag, n = struct.unpack(">BI", body[:5])
        assert len(body) >= 5 + n, f"truncated message in response body ({len(body) - 5} < {n})"
        out.append((flag, body[5:5 + n]))
        body = body[5 + n:]
    return out


def grpc_headers(content_type="application/grpc", timeout=None, extra=()):
    hdrs = [("content-type", content_type), ("te", "trailers")]
    if timeout is not None:
        hdrs.append(("grpc-timeout", timeout))
    return hdrs + list(extra)


def start_call(client, path, headers=None, method="POST"):
    """Opens a stream (HEADERS without END_STREAM); returns its id."""
    return client.request(method, path, headers if headers is not None else grpc_headers(),
                          end_stream=False)


def send(client, sid, data, end_stream=False):
    """Sends DATA on an open stream (bodies here stay below the initial
    windows), optionally ending the stream."""
    view = memoryview(data)
    while len(view):
        n = min(len(view), client.conn.max_outbound_frame_size)
        window = client.conn.local_flow_control_window(sid)
        assert window >= n, f"test body too large for the flow-control window ({window})"
        client.conn.send_data(sid, view[:n].tobytes())
        view = view[n:]
    if end_stream:
        client.conn.end_stream(sid)
    client.flush()


def call(client, path, body=b"", headers=None, timeout=10.0):
    """A complete call: HEADERS, the body and END_STREAM; returns the Response."""
    sid = start_call(client, path, headers)
    send(client, sid, body, end_stream=True)
    return client.wait(sid, timeout=timeout)


def reset(client, sid, code=h2client.CANCEL):
    client.conn.reset_stream(sid, error_code=code)
    client.flush()


def status_block(resp):
    """The header block carrying grpc-status: the trailers, or the headers of
    a trailers-only response."""
    if resp.trailers:
        return dict(resp.trailers)
    return dict(resp.headers)


def grpc_status(resp):
    """(grpc-status as int or None, grpc-message percent-decoded or None)."""
    block = status_block(resp)
    code = block.get("grpc-status")
    msg = block.get("grpc-message")
    return (int(code) if code is not None else None,
            urllib.parse.unquote(msg, errors="strict") if msg is not None else None)


def is_trailers_only(client, sid):
    """True when the response is one HEADERS block with END_STREAM that has
    :status and grpc-status (no DATA, no separate trailers)."""
    r = client.responses[sid]
    ended_with_headers = any(
        isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid
        and ev.stream_ended is not None for ev in client.events)
    return (ended_with_headers and not r.trailers and not r.body
            and r.header(":status") is not None and r.header("grpc-status") is not None)


def b64decode_unpadded(value):
    """-bin metadata: base64, padded or not."""
    value = value.strip()
    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)


def collect(iterator, out, limit=10000):
    """Drains a grpcio response iterator into the list `out` (run it in a
    thread), then appends ("end", exc): exc is the grpc.RpcError that ended
    the stream, or None when it ended cleanly (or after `limit` messages)."""
    exc = None
    try:
        for i, m in enumerate(iterator):
            out.append(m)
            if i + 1 >= limit:
                break
    except grpc.RpcError as e:  # cancelled, deadline, ...
        exc = e
    out.append(("end", exc))


def wait_for(cond, timeout=10.0, interval=0.02):
    """Polls cond() until true or timeout; returns cond()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()


# ---------------------------------------------------------------------------
# trident_interop_server (grpc.testing.TestService on trident)

INTEROP_SERVER = os.environ.get("TRIDENT_INTEROP_SERVER",
                                os.path.join(REPO, "build", "trident_interop_server"))


class InteropServer:
    """trident_interop_server on 127.0.0.1 and a free port (h2c, or TLS with
    `certs` = (ca, cert, key)); stopped by PID."""

    def __init__(self, log_path, certs=None):
        from conftest import free_port, wait_for_port
        assert os.access(INTEROP_SERVER, os.X_OK), (
            f"{INTEROP_SERVER} is missing: ninja -C build trident_interop_server "
            "(ctest passes TRIDENT_INTEROP_SERVER)")
        self.port = free_port()
        self.certs = certs
        args = [INTEROP_SERVER, "--host", "127.0.0.1", "--port", str(self.port)]
        if certs:
            args += ["--use_tls", "--cert", certs[1], "--key", certs[2]]
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        try:
            wait_for_port(self.port)
        except Exception:
            self.kill()
            raise

    def output(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


RUN_MATRIX = os.path.join(REPO, "tests", "interop", "run_matrix.py")


def make_certs(directory):
    """A throwaway CA + server certificate (localhost, foo.test.google.fr,
    127.0.0.1) from run_matrix.py --make-certs; returns (ca, cert, key)."""
    subprocess.run(["/usr/bin/python3", RUN_MATRIX, "--make-certs", str(directory)],
                   check=True, capture_output=True, timeout=60)
    return tuple(os.path.join(str(directory), f) for f in ("ca.pem", "server.pem", "server.key"))


def push(client, sid, data, timeout=10.0):
    """Sends `data` on an open stream as flow control allows, reading (and
    acknowledging) what the server sends meanwhile; stops early when the
    server resets or closes the stream. Returns the bytes sent."""
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + timeout
    r = client.responses[sid]
    while len(view) and time.monotonic() < deadline and r.reset is None and not client.closed:
        try:
            window = min(client.conn.local_flow_control_window(sid),
                         client.conn.max_outbound_frame_size, len(view))
        except h2.exceptions.StreamClosedError:
            break
        if window <= 0:
            client.pump(lambda: r.reset is not None or _window(client, sid) > 0,
                        timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            continue
        client.conn.send_data(sid, view[:window].tobytes())
        client.flush()
        view = view[window:]
        sent += window
    return sent


def _window(client, sid):
    try:
        return client.conn.local_flow_control_window(sid)
    except h2.exceptions.StreamClosedError:
        return 1
