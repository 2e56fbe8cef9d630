#!/usr/bin/env python3
"""gRPC benchmark: trident vs a libgrpc++ callback server, same service.

Both serve bench.Bench (../shared/bench/bench.proto); each runs one worker
pinned to CPU 0, h2load on CPU 1. Scenarios:

  unary   bench.Bench/Unary, 100-byte payload, h2load -c 16 -m 64: calls/s,
          server CPU us/call, p99 latency (from h2load --log-file)
  stream  bench.Bench/ServerStream, count=1000 messages of 100 bytes per call,
          h2load -c 4 -m 4: messages/s, server CPU us/message

h2load counts HTTP responses; the gRPC status of each kind of call is checked
once with python3-grpcio before measuring. Standard library only; run with
/usr/bin/python3 from the repository root after `scripts/build.sh release`.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port_wait(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def grpc_frame(payload):
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def bench_payload(size):  # bench.Payload{data = size bytes}
    return b"\x0a" + varint(size) + b"x" * size


def bench_request(count, size):  # bench.Request{count, size}
    return b"\x08" + varint(count) + b"\x10" + varint(size)


def start(name, args, port):
    proc = subprocess.Popen(["taskset", "-c", "0"] + args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        free_port_wait(port)
    except Exception:
        proc.kill()
        raise
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_with_grpcio(port):
    """One call of each kind through python3-grpcio: the servers must answer OK."""
    code = f"""
import grpc
ch = grpc.insecure_channel('127.0.0.1:{port}')
u = ch.unary_unary('/bench.Bench/Unary', request_serializer=lambda b: b, response_deserializer=lambda b: b)
assert u({bench_payload(100)!r}, timeout=10) == {bench_payload(100)!r}
s = ch.unary_stream('/bench.Bench/ServerStream', request_serializer=lambda b: b, response_deserializer=lambda b: b)
assert len(list(s({bench_request(3, 100)!r}, timeout=10))) == 3
"""
    subprocess.run(["/usr/bin/python3", "-c", code], check=True, timeout=30)


def h2load(port, path, body_file, n, clients, streams, log_file=None):
    extra = ["--log-file", log_file] if log_file else []
    cmd = ["taskset", "-c", "1", "h2load", *extra, "-n", str(n), "-c", str(clients), "-m", str(streams),
           "-d", body_file, "-H", "content-type: application/grpc", "-H", "te: trailers",
           f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    if not m or not ok:
        raise RuntimeError("h2load output not understood:\n" + out)
    secs = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    p99 = None
    if log_file:
        # per request: start (us since epoch), HTTP status, microseconds to the end of the response
        with open(log_file) as f:
            lat = sorted(int(line.split("\t")[2]) for line in f if line.count("\t") >= 2)
        if lat:
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return {"seconds": secs, "succeeded": int(ok.group(1)), "failed": int(ok.group(2)) + int(ok.group(3)),
            "p99_us": p99}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trident", default=os.path.join(ROOT, "build/trident"))
    ap.add_argument("--grpcpp", default=os.path.join(ROOT, "build/tests/interop/grpcpp_bench_server"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--unary-calls", type=int, default=400000)
    ap.add_argument("--stream-calls", type=int, default=400)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--base-port", type=int, default=24300)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.unary_calls, args.stream_calls = 1, 50000, 50
    tmp = tempfile.mkdtemp(prefix="trident-grpc-bench-")
    unary_body = os.path.join(tmp, "unary.bin")
    stream_body = os.path.join(tmp, "stream.bin")
    with open(unary_body, "wb") as f:
        f.write(grpc_frame(bench_payload(100)))
    with open(stream_body, "wb") as f:
        f.write(grpc_frame(bench_request(1000, 100)))
    servers = {
        "trident": ([args.trident, "serve", "--no-tls", "--h2c", f"127.0.0.1:{args.base_port}",
                     "--workers", "1", "--log-level", "warn", "--h2-max-concurrent-streams", "256"],
                    args.base_port),
        "grpc++": ([args.grpcpp, "--port", str(args.base_port + 1), "--threads", "1"], args.base_port + 1),
    }
    results = {name: {"unary": [], "stream": []} for name in servers}
    for rnd in range(args.rounds):
        for name, (argv, port) in servers.items():
            proc = start(name, argv, port)
            try:
                check_with_grpcio(port)
                h2load(port, "/bench.Bench/Unary", unary_body, max(1000, args.unary_calls // 10), 16, 64)
                c0 = cpu_seconds(proc.pid)
                r = h2load(port, "/bench.Bench/Unary", unary_body, args.unary_calls, 16, 64,
                           os.path.join(tmp, f"{name}-{rnd}.log"))
                c1 = cpu_seconds(proc.pid)
                results[name]["unary"].append((r["succeeded"] / r["seconds"], (c1 - c0) * 1e6 / r["succeeded"],
                                               r["p99_us"], r["failed"]))
                c0 = cpu_seconds(proc.pid)
                r = h2load(port, "/bench.Bench/ServerStream", stream_body, args.stream_calls, 4, 4)
                c1 = cpu_seconds(proc.pid)
                msgs = r["succeeded"] * 1000
                results[name]["stream"].append((msgs / r["seconds"], (c1 - c0) * 1e6 / max(1, msgs), None, r["failed"]))
            finally:
                stop(proc)
            print(f"round {rnd + 1} {name}: unary {results[name]['unary'][-1][0]:,.0f} calls/s "
                  f"{results[name]['unary'][-1][1]:.2f} us CPU/call; stream "
                  f"{results[name]['stream'][-1][0]:,.0f} msgs/s", file=sys.stderr)

    def med(name, scen, i):
        return statistics.median(x[i] for x in results[name][scen])

    print(f"gRPC benchmark, {args.rounds} round(s), medians; servers on CPU 0 (1 worker), h2load on CPU 1")
    print(f"{'scenario':<10}{'server':<10}{'rate':>14}{'CPU us':>10}{'p99 latency us':>18}{'failed':>8}")
    for scen, unit in (("unary", "calls/s"), ("stream", "msgs/s")):
        for name in servers:
            lat = med(name, scen, 2) if scen == "unary" else None
            failed = sum(x[3] for x in results[name][scen])
            print(f"{scen:<10}{name:<10}{med(name, scen, 0):>14,.0f}{med(name, scen, 1):>10.3f}"
                  f"{(f'{lat:,.0f}' if lat else '-'):>18}{failed:>8}")
        print(f"  trident/grpc++ {unit}: {med('trident', scen, 0) / med('grpc++', scen, 0):.2f}x, "
              f"CPU per {'call' if scen == 'unary' else 'message'}: "
              f"{med('trident', scen, 1) / med('grpc++', scen, 1):.2f}x")
    print("commands: h2load -c16 -m64 (unary), -c4 -m4 (stream) -H 'content-type: application/grpc' "
          "-H 'te: trailers' -d <length-prefixed request>")


if __name__ == "__main__":
    main()
