"""Start-up behaviour of `trident serve` itself."""
import subprocess

from conftest import TRIDENT, free_port


def test_second_server_on_a_busy_port_fails_clearly(server, tmp_path):
    """SO_REUSEPORT must not let a second server silently share the port."""
    r = subprocess.run([TRIDENT, "serve", "--no-tls", "--plaintext", f"127.0.0.1:{server.port}",
                        "--state-dir", str(tmp_path / "other")],
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    assert b"cannot listen on 127.0.0.1:%d" % server.port in r.stderr, r.stderr
    assert b"in use" in r.stderr, r.stderr


def test_two_listeners_on_one_address_fail_clearly(tmp_path):
    """A TLS and a plaintext listener on one port would split its connections."""
    port = free_port()
    r = subprocess.run([TRIDENT, "serve", "--plaintext", f"127.0.0.1:{port}",
                        "--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path)],
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    assert b"cannot listen on 127.0.0.1:%d" % port in r.stderr, r.stderr
    assert b"in use" in r.stderr, r.stderr


def test_bad_flag_values_are_rejected(tmp_path):
    r = subprocess.run([TRIDENT, "serve", "--no-tls", "--plaintext", "127.0.0.1:99999"],
                       capture_output=True, timeout=10)
    assert r.returncode != 0 and b"bad port" in r.stderr, r.stderr
    r = subprocess.run([TRIDENT, "serve", "--log-level", "loud"], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"unknown log level" in r.stderr, r.stderr
    # the WebSocket message limit is kept in 32 bits per socket
    r = subprocess.run([TRIDENT, "serve", "--ws-max-message", "4294967296"],
                       capture_output=True, timeout=10)
    assert r.returncode != 0 and b"--ws-max-message" in r.stderr, r.stderr


def test_version():
    r = subprocess.run([TRIDENT, "version"], capture_output=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith(b"trident "), r.stdout
