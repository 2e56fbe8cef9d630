#!/usr/bin/python3
"""Runs every interop client x every interop case against one gRPC server and prints a
pass/fail matrix (stdlib only).

    # against any server (e.g. trident), plaintext h2c:
    tests/interop/run_matrix.py --server 127.0.0.1:50051
    # over TLS, verifying the server certificate with a CA file:
    tests/interop/run_matrix.py --server 127.0.0.1:50443 --use_tls --ca_file ca.pem \\
        [--server_host_override localhost]
    # the reference run: spawn grpcpp_interop_server (plaintext, then TLS with a throwaway CA)
    tests/interop/run_matrix.py --spawn-grpcpp-server --transport both
    # just write a throwaway CA + localhost server certificate (for a server under test)
    tests/interop/run_matrix.py --make-certs /tmp/interop-certs

Clients: grpcpp (build/tests/interop/grpcpp_interop_client), python
(tests/interop/python_interop_client.py on /usr/bin/python3 + python3-grpcio) and grpcjs
(tests/interop/node/grpcjs_interop_client.mjs; needs `npm ci` in tests/interop/node).
Each (client, case) runs in its own process with a time limit. Exit status 0 only when
every cell passed; --json writes the cells for a test harness.
"""
import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
    "empty_stream", "client_compressed_unary", "server_compressed_unary", "cancel_after_begin",
    "cancel_after_first_response", "timeout_on_sleeping_server", "custom_metadata",
    "status_code_and_message", "special_status_message", "unimplemented_method",
    "unimplemented_service",
)
CLIENTS = ("grpcpp", "python", "grpcjs", "trident")
OVERRIDE_NAME = "foo.test.google.fr"  # in the throwaway certificate's subjectAltName


def client_command(name, build_dir):
    """argv prefix of one interop client, or (None, why it cannot run)."""
    if name == "grpcpp":
        exe = os.path.join(build_dir, "tests", "interop", "grpcpp_interop_client")
        if not os.access(exe, os.X_OK):
            return None, f"{exe} not built (ninja -C {build_dir} grpcpp_interop_client)"
        return [exe], None
    if name == "python":
        return ["/usr/bin/python3", os.path.join(HERE, "python_interop_client.py")], None
    if name == "trident":
        # trident's own client (interop direction 4); TRIDENT_INTEROP_CLIENT picks a
        # particular build of it (the sanitizer one).
        exe = os.environ.get("TRIDENT_INTEROP_CLIENT") or os.path.join(build_dir,
                                                                        "trident_interop_client")
        if not os.access(exe, os.X_OK):
            return None, f"{exe} not built (ninja -C {build_dir} trident_interop_client)"
        return [exe], None
    if name == "grpcjs":
        node = shutil.which("node")
        if node is None:
            return None, "node not on PATH"
        if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "@grpc", "grpc-js")):
            return None, "run `npm ci` in tests/interop/node"
        return [node, os.path.join(HERE, "node", "grpcjs_interop_client.mjs")], None
    raise ValueError(name)


def run_cell(argv, case, target, timeout):
    """(passed, one-line detail, seconds) for one client process running one case."""
    host, port = target["host"], target["port"]
    cmd = argv + [f"--server_host={host}", f"--server_port={port}", f"--test_case={case}"]
    if target["tls"]:
        cmd.append("--use_tls=true")
        if target["ca_file"]:
            cmd.append(f"--ca_file={target['ca_file']}")
    if target["override"]:
        cmd.append(f"--server_host_override={target['override']}")
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        return False, f"no verdict within {timeout} s", time.monotonic() - t0
    dt = time.monotonic() - t0
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(("PASS ", "FAIL "))]
    if p.returncode == 0 and lines and lines[-1].startswith("PASS "):
        return True, "", dt
    if lines and lines[-1].startswith("FAIL "):
        detail = lines[-1].split(": ", 1)[-1]
    else:
        tail = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or ["no output"])
        detail = f"exit {p.returncode}: {tail[-1]}"
    return False, detail, dt


def make_certs(directory):
    """Throwaway CA + server certificate (localhost, 127.0.0.1, ::1, OVERRIDE_NAME)."""
    os.makedirs(directory, exist_ok=True)
    d = lambda f: os.path.join(directory, f)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", *ec, "-keyout", d("ca.key"), "-out", d("ca.pem"), "-days", "7",
            "-subj", "/CN=trident interop throwaway CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", d("server.key"), "-out", d("server.csr"),
            "-subj", "/CN=localhost")
    with open(d("server.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:localhost,DNS:{OVERRIDE_NAME},IP:127.0.0.1,IP:::1\n"
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", d("server.csr"), "-CA", d("ca.pem"), "-CAkey", d("ca.key"),
            "-CAcreateserial", "-out", d("server.pem"), "-days", "7", "-extfile", d("server.ext"))
    return d("ca.pem"), d("server.pem"), d("server.key")


class SpawnedServer:
    """grpcpp_interop_server on 127.0.0.1 and a free port; stopped on exit."""

    def __init__(self, build_dir, tls_files=None, start_timeout=15):
        exe = os.path.join(build_dir, "tests", "interop", "grpcpp_interop_server")
        if not os.access(exe, os.X_OK):
            sys.exit(f"run_matrix: {exe} not built (ninja -C {build_dir} grpcpp_interop_server)")
        cmd = [exe, "--host=127.0.0.1", "--port=0"]
        if tls_files:
            cmd += ["--use_tls=true", f"--cert={tls_files[1]}", f"--key={tls_files[2]}"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + start_timeout
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        if not m:
            self.stop()
            sys.exit(f"run_matrix: grpcpp_interop_server did not start ({line.strip()!r})")
        self.host, self.port = m.group(1), int(m.group(2))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def run_matrix(target, clients, cases, build_dir, timeout, verbose):
    cells = {}
    for client in clients:
        argv, why = client_command(client, build_dir)
        for case in cases:
            if argv is None:
                cells[(client, case)] = {"result": "SKIP", "detail": why, "seconds": 0.0}
                continue
            ok, detail, dt = run_cell(argv, case, target, timeout)
            cells[(client, case)] = {"result": "PASS" if ok else "FAIL", "detail": detail,
                                     "seconds": round(dt, 2)}
            if verbose:
                print(f"  {client:7} {case:28} {cells[(client, case)]['result']} {detail}",
                      flush=True)
    return cells


def print_matrix(title, clients, cases, cells):
    width = max(len(c) for c in cases) + 2
    print(f"\n{title}")
    print("case".ljust(width) + "".join(c.ljust(8) for c in clients))
    for case in cases:
        print(case.ljust(width) + "".join(cells[(c, case)]["result"].ljust(8) for c in clients))
    totals = []
    for c in clients:
        n = sum(1 for case in cases if cells[(c, case)]["result"] == "PASS")
        totals.append(f"{n}/{len(cases)}".ljust(8))
    print("passed".ljust(width) + "".join(totals))
    problems = [(c, case, cells[(c, case)]) for c in clients for case in cases
                if cells[(c, case)]["result"] != "PASS"]
    for c, case, cell in problems:
        print(f"  {cell['result']} {c} {case}: {cell['detail']}")
    return not problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", metavar="HOST:PORT", help="the server under test")
    where.add_argument("--spawn-grpcpp-server", action="store_true",
                       help="start build/tests/interop/grpcpp_interop_server and test it")
    where.add_argument("--make-certs", metavar="DIR",
                       help="write ca.pem, server.pem, server.key (throwaway) and exit")
    p.add_argument("--use_tls", action="store_true", help="TLS to --server")
    p.add_argument("--ca_file", default="", help="CA that signed the server's certificate")
    p.add_argument("--server_host_override", default="",
                   help="TLS name / :authority to claim (default: the host)")
    p.add_argument("--transport", choices=("plaintext", "tls", "both"), default="both",
                   help="with --spawn-grpcpp-server (default both)")
    p.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per client process")
    p.add_argument("--json", metavar="PATH", help="write the cells as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per cell as it runs")
    args = p.parse_args()

    if args.make_certs:
        ca, cert, key = make_certs(args.make_certs)
        print(f"CA: {ca}\ncertificate: {cert}\nkey: {key}\n"
              f"names: localhost, {OVERRIDE_NAME}, 127.0.0.1, ::1")
        return 0

    clients = [c for c in args.clients.split(",") if c]
    cases = [c for c in args.cases.split(",") if c]
    for c in clients:
        if c not in CLIENTS:
            p.error(f"unknown client {c} (known: {', '.join(CLIENTS)})")
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c}")

    runs = []  # (title, target, server-or-None)
    tmp = None
    if args.server:
        host, _, port = args.server.rpartition(":")
        if not host or not port.isdigit():
            p.error("--server wants HOST:PORT")
        target = {"host": host.strip("[]"), "port": int(port), "tls": args.use_tls,
                  "ca_file": args.ca_file, "override": args.server_host_override}
        runs.append((f"{args.server} ({'tls' if args.use_tls else 'plaintext'})", target, None))
    else:
        transports = ["plaintext", "tls"] if args.transport == "both" else [args.transport]
        for t in transports:
            files = None
            if t == "tls":
                tmp = tmp or tempfile.mkdtemp(prefix="interop-certs-")
                files = make_certs(tmp)
            server = SpawnedServer(args.build_dir, files)
            target = {"host": server.host, "port": server.port, "tls": t == "tls",
                      "ca_file": files[0] if files else "",
                      "override": OVERRIDE_NAME if t == "tls" else ""}
            runs.append((f"grpcpp_interop_server ({t}, 127.0.0.1:{server.port})", target, server))

    all_ok = True
    report = []
    try:
        for title, target, server in runs:
            try:
                cells = run_matrix(target, clients, cases, args.build_dir, args.timeout,
                                   args.verbose)
            finally:
                if server:
                    server.stop()
            all_ok &= print_matrix(title, clients, cases, cells)
            report.append({"server": title, "tls": target["tls"],
                           "cells": [{"client": c, "case": case, **cells[(c, case)]}
                                     for c in clients for case in cases]})
    finally:
        for _, _, server in runs:
            if server:
                server.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
