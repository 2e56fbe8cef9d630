"""The standard gRPC interop cases, run by the real clients (libgrpc++,
python3-grpcio, @grpc/grpc-js) against trident_interop_server, over h2c and
over TLS (a throwaway CA from run_matrix.py --make-certs).

The binary under test is TRIDENT_INTEROP_SERVER (ctest sets it, so the ASan
build tests its own server); the libgrpc++ client comes from INTEROP_BUILD_DIR
(the release build dir: the peers are only built there). Nothing is skipped:
a missing peer is a failure that says how to build it.
"""
import json
import os
import shutil
import subprocess

import pytest

import grpc_util as gu

BUILD_DIR = os.environ.get("INTEROP_BUILD_DIR", os.path.join(gu.REPO, "build"))
NODE_DIR = os.path.join(gu.REPO, "tests", "interop", "node")
OVERRIDE = "foo.test.google.fr"  # in run_matrix.py's throwaway certificate


def check_peers():
    missing = []
    client = os.path.join(BUILD_DIR, "tests", "interop", "grpcpp_interop_client")
    if not os.access(client, os.X_OK):
        missing.append(f"{client} (ninja -C {BUILD_DIR} grpcpp_interop_client; "
                       "INTEROP_BUILD_DIR names the release build dir)")
    if not os.access(gu.INTEROP_SERVER, os.X_OK):
        missing.append(f"{gu.INTEROP_SERVER} (ninja -C build trident_interop_server)")
    if shutil.which("node") is None:
        missing.append("node on PATH")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@grpc", "grpc-js")):
        missing.append(f"{NODE_DIR}/node_modules (cd tests/interop/node && npm ci)")
    assert not missing, "interop peers missing:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_interop_matrix(tmp_path, transport):
    check_peers()
    certs = gu.make_certs(tmp_path / "certs") if transport == "tls" else None
    srv = gu.InteropServer(tmp_path / "server.log", certs=certs)
    cells_path = tmp_path / "cells.json"
    cmd = ["/usr/bin/python3", gu.RUN_MATRIX, "--server", f"127.0.0.1:{srv.port}",
           "--build-dir", BUILD_DIR, "--timeout", "30", "--json", str(cells_path)]
    if certs:
        cmd += ["--use_tls", "--ca_file", certs[0], "--server_host_override", OVERRIDE]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                           stdin=subprocess.DEVNULL, errors="replace")
    finally:
        alive = srv.alive()
        code = srv.stop()
    matrix = p.stdout + p.stderr
    assert alive, f"trident_interop_server died during the matrix:\n{srv.output()}\n{matrix}"
    assert code == 0, f"trident_interop_server exited {code}:\n{srv.output()}\n{matrix}"
    assert cells_path.exists(), f"run_matrix.py wrote no result (exit {p.returncode}):\n{matrix}"
    report = json.loads(cells_path.read_text())
    cells = [c for run in report for c in run["cells"]]
    assert len(cells) == 4 * 16, matrix  # libgrpc++, grpcio, grpc-js and trident clients
    bad = [f"{c['result']} {c['client']} {c['case']}: {c['detail']}" for c in cells
           if c["result"] != "PASS"]
    assert not bad and p.returncode == 0, \
        f"{len(bad)} interop cell(s) failed ({transport}):\n" + "\n".join(bad) + "\n" + matrix
