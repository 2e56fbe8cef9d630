#!/usr/bin/python3
"""The standard gRPC interop client cases on python3-grpcio (Debian's grpcio, 1.51).

Run with Debian's /usr/bin/python3 (a pyenv python3 does not see python3-grpcio):

    /usr/bin/python3 tests/interop/python_interop_client.py --server_host=127.0.0.1 \\
        --server_port=10000 --test_case=large_unary [--use_tls --ca_file=ca.pem] \\
        [--server_host_override=NAME]

Exit status 0 only when the case passed; on failure one line "FAIL <case>: <reason>".
--test_case=all runs every case on a fresh channel each.

No generated Python files: protoc compiles grpc/testing/test.proto (Debian grpc-proto) into
a descriptor set at start-up, the message classes come from that, and the method stubs are
written out below with channel.unary_unary & co. (Debian's python3-grpc-tools is 1.14,
far older than grpcio 1.51, and protoc's Python output for package grpc.testing would be
imported as grpc.testing, which collides with grpcio's own `grpc` package.)

Limits of this peer (as of grpcio's public API): it cannot see the per-message compressed
flag, so server_compressed_unary checks the call and payload only.
"""
import argparse
import os
import queue
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, message_factory

LARGE_REQUEST = 271828
LARGE_RESPONSE = 314159
REQUEST_SIZES = (27182, 8, 1828, 45904)
RESPONSE_SIZES = (31415, 9, 2653, 58979)
ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
    "empty_stream", "client_compressed_unary", "server_compressed_unary", "cancel_after_begin",
    "cancel_after_first_response", "timeout_on_sleeping_server", "custom_metadata",
    "status_code_and_message", "special_status_message", "unimplemented_method",
    "unimplemented_service",
)


class Failure(Exception):
    pass


def expect(cond, reason):
    if not cond:
        raise Failure(reason)


def describe(err):
    if isinstance(err, grpc.RpcError) and hasattr(err, "code"):
        return f"{err.code().name} {err.details()!r}"
    return repr(err)


def load_messages(proto_dir, protoc):
    """Message classes of grpc/testing/test.proto (and its imports), by full name."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "test.desc")
        subprocess.run([protoc, f"--proto_path={proto_dir}", "--include_imports",
                        f"--descriptor_set_out={out}", "grpc/testing/test.proto"],
                       check=True, timeout=60)
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    if hasattr(message_factory, "GetMessageClassesForFiles"):  # protobuf >= 4.25
        from google.protobuf import descriptor_pool
        pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            pool.Add(fd)
        return message_factory.GetMessageClassesForFiles([fd.name for fd in fds.file], pool)
    return message_factory.GetMessages(fds.file)


class Stubs:
    """Hand-written stubs for grpc.testing.TestService and UnimplementedService."""

    def __init__(self, channel, m):
        def method(kind, service, name, req, resp):
            factory = getattr(channel, kind)
            return factory(f"/grpc.testing.{service}/{name}",
                           request_serializer=req.SerializeToString,
                           response_deserializer=resp.FromString)

        t = "TestService"
        self.EmptyCall = method("unary_unary", t, "EmptyCall", m.Empty, m.Empty)
        self.UnaryCall = method("unary_unary", t, "UnaryCall", m.SimpleRequest, m.SimpleResponse)
        self.StreamingOutputCall = method("unary_stream", t, "StreamingOutputCall",
                                          m.StreamingOutputCallRequest,
                                          m.StreamingOutputCallResponse)
        self.StreamingInputCall = method("stream_unary", t, "StreamingInputCall",
                                         m.StreamingInputCallRequest,
                                         m.StreamingInputCallResponse)
        self.FullDuplexCall = method("stream_stream", t, "FullDuplexCall",
                                     m.StreamingOutputCallRequest, m.StreamingOutputCallResponse)
        self.UnimplementedCall = method("unary_unary", t, "UnimplementedCall", m.Empty, m.Empty)
        self.UnimplementedServiceCall = method("unary_unary", "UnimplementedService",
                                               "UnimplementedCall", m.Empty, m.Empty)


class Messages:
    def __init__(self, classes):
        for name in ("Empty", "SimpleRequest", "SimpleResponse", "StreamingInputCallRequest",
                     "StreamingInputCallResponse", "StreamingOutputCallRequest",
                     "StreamingOutputCallResponse"):
            setattr(self, name, classes[f"grpc.testing.{name}"])


class Requests:
    """A request iterator fed by the test; the call stays open until close()."""

    def __init__(self, timeout):
        self._q = queue.Queue()
        self._timeout = timeout

    def put(self, msg):
        self._q.put(msg)

    def close(self):
        self._q.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get(timeout=self._timeout)  # bounded: raises queue.Empty
        if item is None:
            raise StopIteration
        return item


class Cases:
    def __init__(self, stubs, m, timeout):
        self.s, self.m, self.t = stubs, m, timeout

    def zeros(self, n):
        return b"\0" * n

    def body(self, payload, size, what):
        expect(len(payload.body) == size,
               f"{what}: payload {len(payload.body)} bytes, want {size}")
        expect(payload.body.count(0) == size, f"{what}: payload is not all zeros")

    def large_request(self, **kw):
        return self.m.SimpleRequest(response_size=LARGE_RESPONSE,
                                    payload={"body": self.zeros(LARGE_REQUEST)}, **kw)

    def ok(self, fn, what):
        try:
            return fn()
        except grpc.RpcError as e:
            raise Failure(f"{what} failed: {describe(e)}") from None

    def code(self, fn, want, what):
        try:
            fn()
        except grpc.RpcError as e:
            expect(e.code() == want, f"{what}: want {want.name}, got {describe(e)}")
            return e
        raise Failure(f"{what}: want {want.name}, got OK")

    def empty_unary(self):
        resp = self.ok(lambda: self.s.EmptyCall(self.m.Empty(), timeout=self.t), "EmptyCall")
        expect(resp is not None and resp.ByteSize() == 0, "EmptyCall: response is not empty")

    def large_unary(self):
        resp = self.ok(lambda: self.s.UnaryCall(self.large_request(), timeout=self.t), "UnaryCall")
        self.body(resp.payload, LARGE_RESPONSE, "UnaryCall")

    def client_compressed_unary(self):
        probe = self.large_request(expect_compressed={"value": True})
        self.code(lambda: self.s.UnaryCall(probe, timeout=self.t),
                  grpc.StatusCode.INVALID_ARGUMENT, "probe (uncompressed, expect_compressed=true)")
        for compressed in (True, False):
            req = self.large_request(expect_compressed={"value": compressed})
            algo = grpc.Compression.Gzip if compressed else grpc.Compression.NoCompression
            what = "compressed UnaryCall" if compressed else "uncompressed UnaryCall"
            resp = self.ok(lambda: self.s.UnaryCall(req, timeout=self.t, compression=algo), what)
            self.body(resp.payload, LARGE_RESPONSE, what)

    def server_compressed_unary(self):
        for compressed in (True, False):
            req = self.large_request(response_compressed={"value": compressed})
            what = f"UnaryCall (response_compressed={str(compressed).lower()})"
            resp = self.ok(lambda: self.s.UnaryCall(req, timeout=self.t), what)
            self.body(resp.payload, LARGE_RESPONSE, what)

    def client_streaming(self):
        reqs = [self.m.StreamingInputCallRequest(payload={"body": self.zeros(n)})
                for n in REQUEST_SIZES]
        resp = self.ok(lambda: self.s.StreamingInputCall(iter(reqs), timeout=self.t),
                       "StreamingInputCall")
        expect(resp.aggregated_payload_size == 74922,
               f"aggregated_payload_size {resp.aggregated_payload_size}, want 74922")

    def server_streaming(self):
        req = self.m.StreamingOutputCallRequest(
            response_parameters=[{"size": n} for n in RESPONSE_SIZES])
        resps = self.ok(lambda: list(self.s.StreamingOutputCall(req, timeout=self.t)),
                        "StreamingOutputCall")
        expect(len(resps) == 4, f"{len(resps)} responses, want 4")
        for i, (r, n) in enumerate(zip(resps, RESPONSE_SIZES)):
            self.body(r.payload, n, f"response {i}")

    def ping_pong(self):
        reqs = Requests(self.t)
        call = self.s.FullDuplexCall(reqs, timeout=self.t)
        try:
            for i, (rq, rs) in enumerate(zip(REQUEST_SIZES, RESPONSE_SIZES)):
                reqs.put(self.m.StreamingOutputCallRequest(response_parameters=[{"size": rs}],
                                                           payload={"body": self.zeros(rq)}))
                try:
                    resp = next(call)
                except StopIteration:
                    raise Failure(f"FullDuplexCall: no response {i} (call ended OK)") from None
                except grpc.RpcError as e:
                    raise Failure(f"FullDuplexCall: no response {i} ({describe(e)})") from None
                self.body(resp.payload, rs, f"response {i}")
            reqs.close()
            rest = self.ok(lambda: list(call), "FullDuplexCall")
            expect(not rest, "FullDuplexCall: a fifth response")
            expect(call.code() == grpc.StatusCode.OK, f"FullDuplexCall ended {call.code().name}")
        finally:
            reqs.close()
            call.cancel()

    def empty_stream(self):
        resps = self.ok(lambda: list(self.s.FullDuplexCall(iter(()), timeout=self.t)),
                        "FullDuplexCall")
        expect(not resps, "FullDuplexCall: got a response to no request")

    def cancel_after_begin(self):
        reqs = Requests(self.t)
        fut = self.s.StreamingInputCall.future(reqs, timeout=self.t)
        try:
            fut.cancel()
            expect(fut.cancelled(), "StreamingInputCall: cancel() had no effect")
            expect(fut.code() == grpc.StatusCode.CANCELLED,
                   f"StreamingInputCall: want CANCELLED, got {fut.code().name}")
        finally:
            reqs.close()

    def cancel_after_first_response(self):
        reqs = Requests(self.t)
        call = self.s.FullDuplexCall(reqs, timeout=self.t)
        try:
            reqs.put(self.m.StreamingOutputCallRequest(response_parameters=[{"size": 31415}],
                                                       payload={"body": self.zeros(27182)}))
            try:
                resp = next(call)
            except (StopIteration, grpc.RpcError) as e:
                raise Failure(f"FullDuplexCall: no first response ({describe(e)})") from None
            self.body(resp.payload, 31415, "first response")
            call.cancel()
            expect(call.code() == grpc.StatusCode.CANCELLED,
                   f"FullDuplexCall: want CANCELLED, got {call.code().name}")
        finally:
            reqs.close()

    def timeout_on_sleeping_server(self):
        reqs = Requests(self.t)
        call = self.s.FullDuplexCall(reqs, timeout=0.001)
        try:
            reqs.put(self.m.StreamingOutputCallRequest(payload={"body": self.zeros(27182)}))
            try:
                next(call)
                raise Failure("FullDuplexCall: got a response")
            except StopIteration:
                raise Failure("FullDuplexCall: ended OK, want DEADLINE_EXCEEDED") from None
            except grpc.RpcError as e:
                expect(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
                       f"FullDuplexCall: want DEADLINE_EXCEEDED, got {describe(e)}")
        finally:
            reqs.close()
            call.cancel()

    def check_echo(self, initial, trailing, what):
        initial, trailing = dict(initial or ()), dict(trailing or ())
        key, want = ECHO_INITIAL
        expect(key in initial, f"{what}: no {key} in the initial metadata")
        expect(initial[key] == want, f"{what}: {key} is {initial[key]!r}")
        key, want = ECHO_TRAILING
        expect(key in trailing, f"{what}: no {key} in the trailing metadata")
        expect(trailing[key] == want, f"{what}: {key} is {trailing[key]!r}")

    def custom_metadata(self):
        md = (ECHO_INITIAL, ECHO_TRAILING)
        resp, call = self.ok(lambda: self.s.UnaryCall.with_call(
            self.large_request(), metadata=md, timeout=self.t), "UnaryCall")
        self.body(resp.payload, LARGE_RESPONSE, "UnaryCall")
        self.check_echo(call.initial_metadata(), call.trailing_metadata(), "UnaryCall")

        req = self.m.StreamingOutputCallRequest(response_parameters=[{"size": LARGE_RESPONSE}],
                                                payload={"body": self.zeros(LARGE_REQUEST)})
        call = self.s.FullDuplexCall(iter([req]), metadata=md, timeout=self.t)
        resps = self.ok(lambda: list(call), "FullDuplexCall")
        expect(len(resps) == 1, f"FullDuplexCall: {len(resps)} responses, want 1")
        self.body(resps[0].payload, LARGE_RESPONSE, "FullDuplexCall")
        self.check_echo(call.initial_metadata(), call.trailing_metadata(), "FullDuplexCall")

    def echo_status(self, message, duplex):
        status = {"code": 2, "message": message}
        e = self.code(lambda: self.s.UnaryCall(self.m.SimpleRequest(response_status=status),
                                               timeout=self.t),
                      grpc.StatusCode.UNKNOWN, "UnaryCall")
        expect(e.details() == message, f"UnaryCall: message {e.details()!r}")
        if duplex:
            req = self.m.StreamingOutputCallRequest(response_status=status)
            e = self.code(lambda: list(self.s.FullDuplexCall(iter([req]), timeout=self.t)),
                          grpc.StatusCode.UNKNOWN, "FullDuplexCall")
            expect(e.details() == message, f"FullDuplexCall: message {e.details()!r}")

    def status_code_and_message(self):
        self.echo_status("test status message", duplex=True)

    def special_status_message(self):
        self.echo_status(SPECIAL_MESSAGE, duplex=False)

    def unimplemented_method(self):
        self.code(lambda: self.s.UnimplementedCall(self.m.Empty(), timeout=self.t),
                  grpc.StatusCode.UNIMPLEMENTED, "TestService/UnimplementedCall")

    def unimplemented_service(self):
        self.code(lambda: self.s.UnimplementedServiceCall(self.m.Empty(), timeout=self.t),
                  grpc.StatusCode.UNIMPLEMENTED, "UnimplementedService/UnimplementedCall")


def boolean(v):
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"want true or false, got {v}")


def make_channel(args):
    host = f"[{args.server_host}]" if ":" in args.server_host else args.server_host
    target = f"{host}:{args.server_port}"
    # A fresh connection per channel, so one case cannot disturb the next.
    options = [("grpc.use_local_subchannel_pool", 1)]
    if args.use_tls:
        root = open(args.ca_file, "rb").read() if args.ca_file else None
        if args.server_host_override:
            options.append(("grpc.ssl_target_name_override", args.server_host_override))
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root),
                                   options=options)
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
    return grpc.insecure_channel(target, options=options)


def run_case(args, messages, name):
    """None on success, else the reason."""
    channel = make_channel(args)
    try:
        cases = Cases(Stubs(channel, messages), messages, args.rpc_timeout_s)
        getattr(cases, name)()
        return None
    except Failure as e:
        return str(e) or "failed"
    except Exception as e:  # noqa: BLE001 -- any surprise is a failed case, not a crash
        return f"exception: {describe(e)}"
    finally:
        channel.close()


def one_line(s):
    return s.replace("\r", " ").replace("\n", " ")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server_host", default="127.0.0.1")
    p.add_argument("--server_port", type=int, default=10000)
    p.add_argument("--server_host_override", default="")
    p.add_argument("--test_case", default="large_unary", choices=CASES + ("all",))
    p.add_argument("--use_tls", type=boolean, nargs="?", const=True, default=False)
    p.add_argument("--use_test_ca", type=boolean, nargs="?", const=True, default=False,
                   help="accepted for compatibility; use --ca_file")
    p.add_argument("--ca_file", default="")
    p.add_argument("--rpc_timeout_s", type=float, default=20.0)
    p.add_argument("--proto_dir", default="/usr/share/grpc-proto")
    p.add_argument("--protoc", default="protoc")
    args = p.parse_args()

    messages = Messages(load_messages(args.proto_dir, args.protoc))
    names = CASES if args.test_case == "all" else (args.test_case,)
    failed = 0
    for name in names:
        why = run_case(args, messages, name)
        if why is None:
            print(f"PASS {name}", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}: {one_line(why)}", flush=True)
    if args.test_case == "all":
        print(f"{len(names) - failed}/{len(names)} passed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
