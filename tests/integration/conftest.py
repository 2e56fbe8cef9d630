"""Shared fixtures: start the real `trident` binary on free loopback ports.

Every server binds to 127.0.0.1 only, is stopped by PID, and must exit 0
after SIGTERM (graceful shutdown is part of what is tested).
"""
import os
import signal
import socket
import subprocess
import time

import pytest

TRIDENT = os.environ.get("TRIDENT_BIN", os.path.join(os.path.dirname(__file__), "../../build/trident"))


_handed_out = set()


def free_port():
    """A free loopback port, never one this test run handed out before (two
    listeners of one server on the same port would share it via SO_REUSEPORT)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}")


class Server:
    """A running `trident serve` with one plaintext and one TLS listener."""

    def __init__(self, tmp_path, extra_args=(), tls=True):
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.state_dir = str(tmp_path / "state")
        args = [TRIDENT, "serve", "--plaintext", f"127.0.0.1:{self.port}",
                "--state-dir", self.state_dir, "--workers", "2", "--log-level", "warn"]
        if tls:
            args += ["--listen", f"127.0.0.1:{self.tls_port}"]
        else:
            args += ["--no-tls"]
        # TRIDENT_H2_ENGINE runs the suite against one HTTP/2 engine (the
        # default is native; nghttp2 stays selectable and tested).
        engine = os.environ.get("TRIDENT_H2_ENGINE")
        if engine and not any(str(a).startswith("--h2-engine") for a in extra_args):
            args += ["--h2-engine", engine]
        args += list(extra_args)
        self.log_path = tmp_path / "server.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port)
            if tls:
                wait_for_port(self.tls_port)
        except Exception:
            self.kill()
            raise

    @property
    def ca(self):
        return os.path.join(self.state_dir, "dev-ca.pem")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self):
        return f"https://localhost:{self.tls_port}"

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    alive = s.alive()
    code = s.stop()
    assert alive, "server died during the test:\n" + s.output()
    assert code == 0, f"server exited {code}:\n" + s.output()


@pytest.fixture
def make_server(tmp_path):
    """Factory for tests that need special flags: make_server("--max-body", "100")."""
    servers = []

    def make(*extra, tls=True):
        s = Server(tmp_path / f"s{len(servers)}", extra, tls=tls)
        servers.append(s)
        return s

    (tmp_path / "s0").mkdir(exist_ok=True)
    for i in range(1, 8):
        (tmp_path / f"s{i}").mkdir(exist_ok=True)
    yield make
    for s in servers:
        alive = s.alive()
        code = s.stop()
        assert alive, "server died during the test:\n" + s.output()
        assert code == 0, f"server exited {code}:\n" + s.output()


def read_until_close(sock, timeout=5.0):
    """Read until EOF or reset; returns (data, closed). closed is False on timeout."""
    chunks = []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return b"".join(chunks), True
        if not b:
            return b"".join(chunks), True
        chunks.append(b)
    return b"".join(chunks), False

