"""gRPC on `trident serve` with a real peer (python3-grpcio 1.51): bench.Bench,
payments.PaymentService, grpc.health.v1.Health, server reflection v1 and
v1alpha, over h2c (prior knowledge, plaintext port) and h2 (ALPN, TLS port,
the development CA); metadata against trident_interop_server; graceful
shutdown of a Health Watch.

Every call has a deadline and every loop a bound, so a silent server fails a
test instead of hanging it.
"""
import math
import queue
import re
import signal
import threading
import time

import grpc
import pytest
from google.protobuf import descriptor_pb2

import grpc_util as gu
from conftest import Server
from h2client import H2Client

T = 10  # seconds: deadline of every call

PAYMENTS = "payments.PaymentService"
HEALTH = "grpc.health.v1.Health"


@pytest.fixture(params=["h2c", "tls"])
def tls(request):
    return request.param == "tls"


@pytest.fixture
def ch(server, tls):
    c = gu.server_channel(server, tls=tls)
    gu.wait_ready(c)
    yield c
    c.close()


def m(name, **fields):
    return gu.protos()[name](**fields)


class Requests:
    """A request iterator the test feeds one message at a time; ends on
    close() or after `timeout` seconds without a message."""

    def __init__(self, timeout=T):
        self._q = queue.Queue()
        self._timeout = timeout

    def put(self, msg):
        self._q.put(msg)

    def close(self):
        self._q.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            msg = self._q.get(timeout=self._timeout)
        except queue.Empty:
            raise StopIteration
        if msg is None:
            raise StopIteration
        return msg


# ---------------------------------------------------------------------------
# bench.Bench


@pytest.mark.parametrize("size", [0, 1, 100, 16384, 65537, 1 << 20])
def test_bench_unary_echo(ch, size):
    bench = gu.Stub(ch, "bench.Bench")
    data = bytes((i * 7 + size) & 0xFF for i in range(size))
    r, call = bench.Unary.with_call(m("bench.Payload", data=data), timeout=T)
    assert r.data == data
    assert call.code() == grpc.StatusCode.OK


@pytest.mark.parametrize("compression", [grpc.Compression.Gzip, grpc.Compression.Deflate],
                         ids=["gzip", "deflate"])
def test_bench_unary_compressed_request(ch, compression):
    bench = gu.Stub(ch, "bench.Bench")
    for data in (b"z" * 200000, bytes(range(256)) * 4, b""):
        r = bench.Unary(m("bench.Payload", data=data), timeout=T, compression=compression)
        assert r.data == data


@pytest.mark.parametrize("count,size", [(0, 0), (1, 0), (1, 10), (100, 100), (4, 1 << 20),
                                        (1000, 16)])
def test_bench_server_stream(ch, count, size):
    bench = gu.Stub(ch, "bench.Bench")
    call = bench.ServerStream(m("bench.Request", count=count, size=size), timeout=T)
    got = list(call)
    assert len(got) == count
    assert all(p.data == b"x" * size for p in got)
    assert call.code() == grpc.StatusCode.OK


@pytest.mark.parametrize("count,size", [(-1, 10), (1, -1), (1, (4 << 20) + 1)])
def test_bench_server_stream_invalid_argument(ch, count, size):
    bench = gu.Stub(ch, "bench.Bench")
    with pytest.raises(grpc.RpcError) as e:
        list(bench.ServerStream(m("bench.Request", count=count, size=size), timeout=T))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
    assert e.value.details()
    # The channel keeps working.
    assert bench.Unary(m("bench.Payload", data=b"ok"), timeout=T).data == b"ok"


def test_response_over_send_limit_is_resource_exhausted(server):
    """A 4 MiB payload serializes to 4 MiB + 5 bytes: over the server's 4 MiB send
    limit, so the call fails with RESOURCE_EXHAUSTED instead of sending it. The
    client accepts 16 MiB, so the status can only come from the server."""
    ch = grpc.insecure_channel(f"127.0.0.1:{server.port}",
                               options=[("grpc.max_receive_message_length", 16 << 20)])
    bench = gu.Stub(ch, "bench.Bench")
    call = bench.ServerStream(m("bench.Request", count=2, size=4 << 20), timeout=T)
    with pytest.raises(grpc.RpcError) as e:
        list(call)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.value
    assert "server's limit" in e.value.details(), e.value.details()
    assert bench.Unary(m("bench.Payload", data=b"ok"), timeout=T).data == b"ok"
    ch.close()


def test_bench_bidi_many(ch):
    bench = gu.Stub(ch, "bench.Bench")
    msgs = [bytes([i & 0xFF]) * ((i * 37) % 5000) for i in range(500)]
    call = bench.Bidi(iter(m("bench.Payload", data=d) for d in msgs), timeout=T)
    got = [p.data for p in call]
    assert len(got) == len(msgs)
    assert got == msgs
    assert call.code() == grpc.StatusCode.OK


def test_bench_bidi_ping_pong(ch):
    """Each message is echoed before the next is sent (no half-close needed)."""
    bench = gu.Stub(ch, "bench.Bench")
    reqs = Requests()
    call = bench.Bidi(reqs, timeout=T)
    try:
        for i in range(20):
            data = f"ping {i}".encode() * (i + 1)
            reqs.put(m("bench.Payload", data=data))
            assert next(call).data == data
    finally:
        reqs.close()
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


def test_bench_bidi_empty(ch):
    bench = gu.Stub(ch, "bench.Bench")
    call = bench.Bidi(iter(()), timeout=T)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


# ---------------------------------------------------------------------------
# payments.PaymentService


def test_process_payment(ch):
    pay = gu.Stub(ch, PAYMENTS)
    ids = []
    for amount, currency in ((12.5, "EUR"), (0.01, "USD"), (1e9, "JPY")):
        r = pay.ProcessPayment(m("payments.PaymentRequest", user_id="alice", amount=amount,
                                 currency=currency), timeout=T)
        assert r.status == "approved"
        assert re.fullmatch(r"pay-[0-9]+", r.payment_id), r.payment_id
        ids.append(int(r.payment_id[4:]))
    assert len(set(ids)) == 3 and ids == sorted(ids), ids


@pytest.mark.parametrize("user_id,amount,currency,field", [
    ("", 10.0, "EUR", "user_id"),
    ("bob", 0.0, "EUR", "amount"),
    ("bob", -5.0, "EUR", "amount"),
    ("bob", math.nan, "EUR", "amount"),
    ("bob", -math.inf, "EUR", "amount"),
    ("bob", 10.0, "", "currency"),
    ("bob", 10.0, "eur", "currency"),
    ("bob", 10.0, "EU", "currency"),
    ("bob", 10.0, "EURO", "currency"),
    ("bob", 10.0, "E1R", "currency"),
    ("bob", 10.0, "ÉUR", "currency"),
], ids=["no-user", "zero", "negative", "nan", "-inf", "no-currency", "lowercase", "short",
        "long", "digit", "non-ascii"])
def test_process_payment_invalid(ch, user_id, amount, currency, field):
    pay = gu.Stub(ch, PAYMENTS)
    with pytest.raises(grpc.RpcError) as e:
        pay.ProcessPayment(m("payments.PaymentRequest", user_id=user_id, amount=amount,
                             currency=currency), timeout=T)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
    assert field in e.value.details(), e.value.details()


def _start_watch(pay, user_id=""):
    call = pay.WatchPayments(m("payments.WatchPaymentsRequest", user_id=user_id), timeout=30)
    got = []
    t = threading.Thread(target=gu.collect, args=(call, got), daemon=True)
    t.start()
    return call, got, t


def _events(got):
    return [e for e in got if not isinstance(e, tuple)]


def test_watch_payments(ch, server, tls):
    pay = gu.Stub(ch, PAYMENTS)
    user = f"alice-{'tls' if tls else 'h2c'}"
    pay_req = lambda u, a, c="EUR": m("payments.PaymentRequest", user_id=u, amount=a,  # noqa
                                      currency=c)
    before = pay.ProcessPayment(pay_req(user, 1.0), timeout=T).payment_id

    all_call, all_got, all_t = _start_watch(pay)
    user_call, user_got, user_t = _start_watch(pay, user)
    try:
        # A watch starts when its handler runs, which the client cannot see:
        # process probe payments for `user` until both watchers have one.
        probes = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (_events(all_got) and _events(user_got)):
            probes.append(pay.ProcessPayment(pay_req(user, 0.01), timeout=T).payment_id)
            gu.wait_for(lambda: _events(all_got) and _events(user_got), timeout=0.2)
        assert _events(all_got) and _events(user_got), \
            f"no event reached the watchers within 10 s ({len(probes)} probes)"
        # Both handlers ran before the last probe: both get it (maybe later
        # than the probe that ended the loop). Count from there.
        last = lambda got: _events(got)[-1].payment_id  # noqa
        assert gu.wait_for(lambda: last(all_got) == probes[-1] and last(user_got) == probes[-1],
                           timeout=5), (probes, all_got, user_got)
        n_all, n_user = len(_events(all_got)), len(_events(user_got))

        expected = []
        for u, amount, cur in (("bob", 2.5, "USD"), (user, 3.25, "EUR"), ("carol", 4.0, "GBP"),
                               (user, 5.0, "CHF")):
            r = pay.ProcessPayment(pay_req(u, amount, cur), timeout=T)
            expected.append((r.payment_id, u, amount, cur, "approved"))
        assert gu.wait_for(lambda: len(_events(all_got)) >= n_all + 4
                           and len(_events(user_got)) >= n_user + 2, timeout=10), \
            (all_got, user_got)
        as_tuple = lambda e: (e.payment_id, e.user_id, e.amount, e.currency, e.status)  # noqa
        # Every event after the first is later than the first probe: the
        # payment made before the watches never shows up.
        for got, n in ((all_got, n_all), (user_got, n_user)):
            ids = [e.payment_id for e in _events(got)]
            assert before not in ids, ids
            assert set(ids[:n]) <= set(probes), (ids, probes)
        assert [as_tuple(e) for e in _events(all_got)[n_all:]] == expected
        assert [as_tuple(e) for e in _events(user_got)[n_user:]] == \
            [e for e in expected if e[1] == user]
        assert all(e.user_id == user for e in _events(user_got))
    finally:
        all_call.cancel()
        user_call.cancel()
    all_t.join(5)
    user_t.join(5)
    assert not all_t.is_alive() and not user_t.is_alive()
    for got in (all_got, user_got):
        end = got[-1]
        assert isinstance(end, tuple) and end[1] is not None
        assert end[1].code() == grpc.StatusCode.CANCELLED
    # The server keeps serving, on this channel and on a new one.
    r = pay.ProcessPayment(pay_req(user, 6.0), timeout=T)
    assert r.status == "approved"
    c2 = gu.server_channel(server, tls=tls)
    try:
        h = gu.Stub(c2, HEALTH).Check(m("grpc.health.v1.HealthCheckRequest"), timeout=T)
        assert h.status == gu.protos()["grpc.health.v1.HealthCheckResponse"].SERVING
    finally:
        c2.close()


# ---------------------------------------------------------------------------
# grpc.health.v1.Health


def test_health_check(ch):
    health = gu.Stub(ch, HEALTH)
    resp = gu.protos()["grpc.health.v1.HealthCheckResponse"]
    for service in ("",) + gu.SERVE_SERVICES:
        r = health.Check(m("grpc.health.v1.HealthCheckRequest", service=service), timeout=T)
        assert r.status == resp.SERVING, service
    for unknown in ("nope.Service", "bench.Bench.Unary", "bench", " bench.Bench",
                    "café ☺ %41 \U0001f608"):
        with pytest.raises(grpc.RpcError) as e:
            health.Check(m("grpc.health.v1.HealthCheckRequest", service=unknown), timeout=T)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, (unknown, e.value)
        # grpc-message travels percent-encoded; grpcio decodes it.
        assert unknown in e.value.details(), (unknown, e.value.details())


def test_health_watch(ch):
    health = gu.Stub(ch, HEALTH)
    resp = gu.protos()["grpc.health.v1.HealthCheckResponse"]
    calls = []
    try:
        for service, want in (("", resp.SERVING), (PAYMENTS, resp.SERVING),
                              ("nope.Service", resp.SERVICE_UNKNOWN)):
            call = health.Watch(m("grpc.health.v1.HealthCheckRequest", service=service),
                                timeout=T)
            calls.append(call)
            assert next(call).status == want, service
        # The watches stay open (no change, no end): the first one is still active.
        time.sleep(0.3)
        assert calls[0].is_active()
    finally:
        for c in calls:
            c.cancel()
    for c in calls:
        assert c.code() == grpc.StatusCode.CANCELLED
    assert health.Check(m("grpc.health.v1.HealthCheckRequest"), timeout=T).status == resp.SERVING


# ---------------------------------------------------------------------------
# Server reflection


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection(ch, version):
    pkg = f"grpc.reflection.{version}"
    stub = gu.Stub(ch, f"{pkg}.ServerReflection")
    Req = gu.protos()[f"{pkg}.ServerReflectionRequest"]
    reqs = [
        Req(list_services="*"),
        Req(file_containing_symbol="payments.PaymentService"),
        Req(file_containing_symbol="bench.Bench.Unary"),
        Req(file_containing_symbol="payments.PaymentEvent"),
        Req(file_containing_symbol="grpc.health.v1.Health"),
        Req(file_by_filename="no/such/file.proto"),
        Req(file_containing_symbol="no.such.Symbol"),
    ]
    call = stub.ServerReflectionInfo(iter(reqs), timeout=T)
    resps = list(call)
    assert call.code() == grpc.StatusCode.OK
    assert len(resps) == len(reqs)
    for q, r in zip(reqs, resps):
        assert r.original_request == q, (q, r.original_request)

    # list_services
    assert resps[0].WhichOneof("message_response") == "list_services_response", resps[0]
    names = {s.name for s in resps[0].list_services_response.service}
    assert set(gu.SERVE_SERVICES) <= names, names

    def files(r):
        assert r.WhichOneof("message_response") == "file_descriptor_response", r
        out = [descriptor_pb2.FileDescriptorProto.FromString(b)
               for b in r.file_descriptor_response.file_descriptor_proto]
        assert out
        return out

    def file_declaring(fds, package):
        found = [f for f in fds if f.package == package]
        assert found, [f.name for f in fds]
        return found[0]

    # file_containing_symbol payments.PaymentService
    pf = file_declaring(files(resps[1]), "payments")
    svc = [s for s in pf.service if s.name == "PaymentService"]
    assert svc, pf
    methods = {mm.name: mm for mm in svc[0].method}
    assert set(methods) == {"ProcessPayment", "WatchPayments"}
    pp, wp = methods["ProcessPayment"], methods["WatchPayments"]
    assert (pp.input_type, pp.output_type) == (".payments.PaymentRequest",
                                               ".payments.PaymentResponse")
    assert not pp.client_streaming and not pp.server_streaming
    assert (wp.input_type, wp.output_type) == (".payments.WatchPaymentsRequest",
                                               ".payments.PaymentEvent")
    assert not wp.client_streaming and wp.server_streaming
    # The messages match what protoc makes of payments.proto.
    want = gu.protos().files["payments.proto"]
    assert {mt.name: [(f.name, f.number, f.type) for f in mt.field] for mt in pf.message_type} \
        == {mt.name: [(f.name, f.number, f.type) for f in mt.field] for mt in want.message_type}

    # a method symbol, a message symbol, another file
    bf = file_declaring(files(resps[2]), "bench")
    assert [s.name for s in bf.service] == ["Bench"]
    assert {mm.name for mm in bf.service[0].method} == {"Unary", "ServerStream", "Bidi"}
    assert file_declaring(files(resps[3]), "payments").name == pf.name
    hf = file_declaring(files(resps[4]), "grpc.health.v1")
    assert [s.name for s in hf.service] == ["Health"]

    # unknown file / symbol → error_response NOT_FOUND
    for r in resps[5:]:
        assert r.WhichOneof("message_response") == "error_response", r
        assert r.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0], r
        assert r.error_response.error_message

    # file_by_filename of the names the server reported round-trips.
    call = stub.ServerReflectionInfo(iter([Req(file_by_filename=pf.name),
                                           Req(file_by_filename=hf.name)]), timeout=T)
    r1, r2 = list(call)
    assert file_declaring(files(r1), "payments") == pf
    assert file_declaring(files(r2), "grpc.health.v1") == hf


# ---------------------------------------------------------------------------
# Metadata (trident_interop_server echoes x-grpc-test-echo-* back)


@pytest.fixture(scope="module")
def interop_certs(tmp_path_factory):
    return gu.make_certs(tmp_path_factory.mktemp("interop-certs"))


@pytest.fixture
def interop_channel(tmp_path, tls, interop_certs):
    srv = gu.InteropServer(tmp_path / "interop.log", certs=interop_certs if tls else None)
    c = gu.channel(srv.port, tls=tls, ca=interop_certs[0])
    try:
        gu.wait_ready(c)
        yield c
    finally:
        c.close()
        alive = srv.alive()
        code = srv.stop()
        assert alive, "trident_interop_server died:\n" + srv.output()
        assert code == 0, f"trident_interop_server exited {code}:\n" + srv.output()


def test_custom_and_binary_metadata(interop_channel):
    stub = gu.Stub(interop_channel, "grpc.testing.TestService")
    req = m("grpc.testing.SimpleRequest", response_size=10,
            payload=m("grpc.testing.Payload", body=b"\0" * 10))
    binary = bytes(range(256))
    md = (("x-grpc-test-echo-initial", "initial value, with spaces"),
          ("x-grpc-test-echo-trailing-bin", binary),
          ("x-custom", "ignored by the server"), ("x-custom-bin", b"\xff\x00"))
    for compression in (None, grpc.Compression.Gzip):
        r, call = stub.UnaryCall.with_call(req, metadata=md, timeout=T, compression=compression)
        assert len(r.payload.body) == 10
        initial = dict(call.initial_metadata())
        trailing = dict(call.trailing_metadata())
        assert initial.get("x-grpc-test-echo-initial") == "initial value, with spaces", initial
        assert trailing.get("x-grpc-test-echo-trailing-bin") == binary, trailing


def test_binary_metadata_on_the_wire(tmp_path):
    """-bin values arrive base64 (padded or not) and leave base64; ASCII
    values pass unchanged (raw HTTP/2, so the wire form itself is checked)."""
    srv = gu.InteropServer(tmp_path / "interop.log")
    try:
        with H2Client(srv.port, timeout=10) as c:
            req = m("grpc.testing.SimpleRequest", response_size=3).SerializeToString()
            for sent, value in (("AAEC/w", b"\x00\x01\x02\xff"), ("AAEC/w==", b"\x00\x01\x02\xff"),
                                ("q6ur", b"\xab\xab\xab"), ("", b"")):
                r = gu.call(c, "/grpc.testing.TestService/UnaryCall", gu.lpm(req),
                            headers=gu.grpc_headers(extra=[
                                ("x-grpc-test-echo-initial", "plain ascii ~!"),
                                ("x-grpc-test-echo-trailing-bin", sent)]))
                assert gu.grpc_status(r) == (0, None), (r.headers, r.trailers)
                assert r.header("x-grpc-test-echo-initial") == "plain ascii ~!", r.headers
                echoed = dict(r.trailers).get("x-grpc-test-echo-trailing-bin")
                assert echoed is not None, r.trailers
                assert gu.b64decode_unpadded(echoed) == value, (sent, echoed)
            assert c.goaway is None
    finally:
        alive = srv.alive()
        code = srv.stop()
    assert alive and code == 0, srv.output()


# ---------------------------------------------------------------------------
# Graceful shutdown


def test_sigterm_ends_health_watch_with_not_serving(tmp_path):
    srv = Server(tmp_path)
    resp = gu.protos()["grpc.health.v1.HealthCheckResponse"]
    chans = []
    try:
        watches = []
        for tls in (False, True):
            c = gu.server_channel(srv, tls=tls)
            chans.append(c)
            for service in ("", PAYMENTS):
                call = gu.Stub(c, HEALTH).Watch(
                    m("grpc.health.v1.HealthCheckRequest", service=service), timeout=20)
                assert next(call).status == resp.SERVING
                got = []
                t = threading.Thread(target=gu.collect, args=(call, got), daemon=True)
                t.start()
                watches.append((tls, service, call, got, t))
        srv.proc.send_signal(signal.SIGTERM)
        for tls, service, call, got, t in watches:
            t.join(10)
            assert not t.is_alive(), f"watch {service!r} (tls={tls}) still open 10 s after SIGTERM"
            assert [e.status for e in got[:-1]] == [resp.NOT_SERVING], (tls, service, got)
            assert got[-1] == ("end", None), (tls, service, got[-1])
            assert call.code() == grpc.StatusCode.OK
        code = srv.proc.wait(timeout=15)
        assert code == 0, f"trident exited {code}:\n" + srv.output()
    finally:
        for c in chans:
            c.close()
        srv.kill()
