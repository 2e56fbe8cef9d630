"""TLS: the development CA, protocol versions, ALPN, SNI and client certificates,
checked with curl and `openssl s_client` against the real binary."""
import os
import re
import stat
import subprocess

import pytest

from conftest import TRIDENT, Server, free_port
from h2client import assert_healthy


def run(cmd, timeout=60, input=None, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=timeout, input=input, **kw)


def openssl(*args, cwd=None):
    p = run(["openssl", *args], cwd=cwd)
    assert p.returncode == 0, f"openssl {' '.join(args)}:\n{p.stderr.decode()}"
    return p


class Pki:
    """A throwaway CA and leaf certificates made with the openssl CLI."""

    def __init__(self, directory, name="Test CA"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.ca_key = os.path.join(self.dir, "ca-key.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj", f"/CN={name}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, cn, sans=(), client=False):
        """Returns (cert_path, key_path) for a leaf signed by this CA."""
        base = os.path.join(self.dir, cn.replace("*", "star"))
        key, csr, crt, ext = base + "-key.pem", base + ".csr", base + ".pem", base + ".ext"
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature\n")
            f.write(f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}\n")
            if sans:
                f.write("subjectAltName=" + ",".join(sans) + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def curl(*args, timeout=30):
    return run(["curl", "-sS", "--max-time", str(timeout), *args], timeout=timeout + 10)


def s_client(port, *args, input=b"Q\n", timeout=20):
    """openssl s_client against 127.0.0.1:port; returns (returncode, stdout+stderr)."""
    p = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
            input=input, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def peer_cert_info(port, *args):
    """Subject and SANs of the certificate the server presents."""
    code, out = s_client(port, *args)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    assert m, out
    p = run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"],
            input=m.group(0).encode())
    return p.stdout.decode()


# ---------------------------------------------------------------------------
# Dev CA and curl


@pytest.mark.parametrize("proto,flag", [("1.1", "--http1.1"), ("2", "--http2")])
def test_curl_with_dev_ca(server, proto, flag):
    p = curl("--cacert", server.ca, flag, "-o", "-", "-w", "\n%{http_version} %{http_code}",
             server.tls_url + "/plaintext")
    assert p.returncode == 0, p.stderr
    body, _, meta = p.stdout.decode().rpartition("\n")
    assert body == "Hello, World!"
    assert meta == f"{proto} 200"


def test_curl_no_alpn_is_http11(server):
    p = curl("--cacert", server.ca, "--no-alpn", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
             server.tls_url + "/plaintext")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"1.1 200"


def test_dev_ca_files_and_permissions(server):
    d = server.state_dir
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    files = sorted(os.listdir(d))
    assert "dev-ca.pem" in files and "dev-ca-key.pem" in files, files
    keys = [f for f in files if f.endswith("-key.pem")]
    assert keys, files
    for f in keys:
        mode = stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode)
        assert mode == 0o600, f"{f}: mode {oct(mode)}"
    # The CA is a CA; the key is a private key.
    text = openssl("x509", "-in", server.ca, "-noout", "-text").stdout.decode()
    assert "CA:TRUE" in text
    with open(os.path.join(d, "dev-ca-key.pem")) as f:
        assert "PRIVATE KEY" in f.read()


def test_dev_ca_reused_across_restarts(tmp_path):
    first = Server(tmp_path)
    try:
        with open(first.ca, "rb") as f:
            ca1 = f.read()
        with open(os.path.join(first.state_dir, "dev-ca-key.pem"), "rb") as f:
            key1 = f.read()
    finally:
        assert first.stop() == 0
    saved_ca = tmp_path / "ca-from-first-run.pem"
    saved_ca.write_bytes(ca1)
    second = Server(tmp_path)
    try:
        with open(second.ca, "rb") as f:
            assert f.read() == ca1, "dev CA regenerated on restart"
        with open(os.path.join(second.state_dir, "dev-ca-key.pem"), "rb") as f:
            assert f.read() == key1
        # The second run's certificate still chains to the first run's CA.
        p = curl("--cacert", str(saved_ca), "-o", "-", second.tls_url + "/plaintext")
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"Hello, World!"
    finally:
        assert second.stop() == 0


def test_untrusted_ca_fails_verification(server, pki):
    p = curl("--cacert", pki.ca, "-o", "/dev/null", server.tls_url + "/plaintext")
    assert p.returncode == 60, (p.returncode, p.stderr)
    # And the server shrugs it off.
    p = curl("--cacert", server.ca, "-o", "-", server.tls_url + "/plaintext")
    assert p.stdout == b"Hello, World!"


def test_wrong_hostname_fails_verification(server):
    # The dev certificate is for localhost; 127.0.0.1 as host name must not be
    # trusted unless the certificate lists it.
    info = peer_cert_info(server.tls_port, "-servername", "localhost")
    p = curl("--cacert", server.ca, "--resolve", f"wrong.test:{server.tls_port}:127.0.0.1",
             "-o", "/dev/null", f"https://wrong.test:{server.tls_port}/plaintext")
    assert "wrong.test" not in info
    assert p.returncode == 60, (p.returncode, p.stderr, info)


# ---------------------------------------------------------------------------
# Protocol versions


def test_tls11_refused(server):
    # SECLEVEL=0 lets the *client* offer TLS 1.1 at all; the refusal must come from the server.
    code, out = s_client(server.tls_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                         "-servername", "localhost")
    assert code != 0, out
    assert re.search(r"alert protocol version|unsupported protocol|wrong version number", out,
                     re.I), out
    assert "Cipher    : 0000" in out or "Cipher is (NONE)" in out, out  # nothing negotiated
    assert server.alive()


def test_tls10_refused(server):
    code, out = s_client(server.tls_port, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0",
                         "-servername", "localhost")
    assert code != 0, out
    assert re.search(r"alert protocol version|unsupported protocol|wrong version number", out,
                     re.I), out


def test_curl_tls_max_11_refused(server):
    p = curl("--cacert", server.ca, "--tls-max", "1.1", "--tlsv1.0", "--ciphers",
             "DEFAULT@SECLEVEL=0", "-o", "/dev/null", server.tls_url + "/plaintext")
    assert p.returncode == 35, (p.returncode, p.stderr)


@pytest.mark.parametrize("flag,version", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls12_and_13_accepted(server, flag, version):
    code, out = s_client(server.tls_port, flag, "-servername", "localhost", "-CAfile", server.ca,
                         "-verify_return_error")
    assert code == 0, out
    assert re.search(rf"Protocol\s*:\s*{re.escape(version)}|New, {re.escape(version)}", out), out
    assert "Verify return code: 0 (ok)" in out


# ---------------------------------------------------------------------------
# ALPN


@pytest.mark.parametrize("offer,expect", [
    ("h2", "h2"),
    ("http/1.1", "http/1.1"),
    ("h2,http/1.1", "h2"),
    ("http/1.1,h2", "h2"),  # server preference
])
def test_alpn(server, offer, expect):
    code, out = s_client(server.tls_port, "-alpn", offer, "-servername", "localhost")
    assert code == 0, out
    assert f"ALPN protocol: {expect}\n" in out.replace("\r", ""), out


def test_alpn_unknown_protocol_continues_without(server):
    code, out = s_client(server.tls_port, "-alpn", "spdy/3", "-servername", "localhost")
    assert code == 0, out
    assert "No ALPN negotiated" in out, out


def test_alpn_http11_speaks_http11(server):
    req = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    code, out = s_client(server.tls_port, "-alpn", "http/1.1", "-servername", "localhost",
                         "-quiet", "-ign_eof", input=req)
    assert "HTTP/1.1 200" in out, out
    assert "Hello, World!" in out


# ---------------------------------------------------------------------------
# SNI


@pytest.fixture
def sni_server(make_server, pki):
    default = pki.leaf("localhost", ["DNS:localhost", "IP:127.0.0.1"])
    other = pki.leaf("other.test", ["DNS:other.test", "DNS:*.wild.test"])
    s = make_server("--cert", default[0], "--key", default[1],
                    "--cert", other[0], "--key", other[1])
    return s


def test_sni_selects_certificate(sni_server):
    info = peer_cert_info(sni_server.tls_port, "-servername", "other.test")
    assert "CN = other.test" in info or "CN=other.test" in info, info
    assert "DNS:other.test" in info


def test_sni_wildcard(sni_server):
    info = peer_cert_info(sni_server.tls_port, "-servername", "a.wild.test")
    assert "DNS:other.test" in info, info


def test_sni_case_insensitive(sni_server):
    info = peer_cert_info(sni_server.tls_port, "-servername", "OTHER.test")
    assert "DNS:other.test" in info, info


@pytest.mark.parametrize("args", [["-servername", "unknown.test"], ["-servername", "localhost"],
                                  ["-noservername"]], ids=["unknown", "localhost", "none"])
def test_sni_default_certificate(sni_server, args):
    info = peer_cert_info(sni_server.tls_port, *args)
    assert "DNS:localhost" in info, info
    assert "other.test" not in info


def test_sni_curl_verifies_both(sni_server, pki):
    port = sni_server.tls_port
    for host in ("localhost", "other.test"):
        p = curl("--cacert", pki.ca, "--resolve", f"{host}:{port}:127.0.0.1", "-o", "-",
                 "-w", "\n%{http_version}", f"https://{host}:{port}/plaintext")
        assert p.returncode == 0, (host, p.stderr)
        assert p.stdout == b"Hello, World!\n2", host


def test_custom_cert_does_not_create_dev_ca(sni_server):
    assert not os.path.exists(sni_server.ca)


# ---------------------------------------------------------------------------
# Client certificates


@pytest.fixture
def mtls(make_server, pki, tmp_path):
    server_cert = pki.leaf("localhost", ["DNS:localhost"])
    client_cert = pki.leaf("client.test", client=True)
    rogue = Pki(tmp_path / "rogue", name="Rogue CA")
    rogue_cert = rogue.leaf("rogue.test", client=True)

    def make(*extra):
        return make_server("--cert", server_cert[0], "--key", server_cert[1],
                           "--client-ca", pki.ca, *extra)
    return make, client_cert, rogue_cert


# With TLS 1.3 the server judges the client certificate after the client
# considers the handshake done, so depending on timing curl reports the
# rejection as a handshake (35), send (16, 55) or receive (56) failure.
CLIENT_CERT_FAILURES = (16, 35, 55, 56)


def mtls_curl(s, pki, cert=None, http="--http2"):
    args = ["--cacert", pki.ca, http, "-o", "-", "-w", "\n%{http_code}"]
    if cert:
        args += ["--cert", cert[0], "--key", cert[1]]
    return curl(*args, s.tls_url + "/plaintext")


@pytest.mark.parametrize("http", ["--http2", "--http1.1"])
def test_mtls_required(mtls, pki, http):
    make, client_cert, rogue_cert = mtls
    s = make("--require-client-cert")
    p = mtls_curl(s, pki, None, http)
    assert p.returncode in CLIENT_CERT_FAILURES, (p.returncode, p.stderr)  # handshake / first read fails
    assert b"Hello, World!" not in p.stdout
    p = mtls_curl(s, pki, rogue_cert, http)
    assert p.returncode in CLIENT_CERT_FAILURES, (p.returncode, p.stderr)
    assert b"Hello, World!" not in p.stdout
    p = mtls_curl(s, pki, client_cert, http)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"Hello, World!\n200"
    assert s.alive()


def test_mtls_required_s_client(mtls, pki):
    make, client_cert, _ = mtls
    s = make("--require-client-cert")
    req = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    code, out = s_client(s.tls_port, "-alpn", "http/1.1", "-servername", "localhost",
                         "-ign_eof", input=req)
    assert "Hello, World!" not in out
    assert re.search(r"certificate required|handshake failure|alert", out, re.I), out
    code, out = s_client(s.tls_port, "-alpn", "http/1.1", "-servername", "localhost",
                         "-cert", client_cert[0], "-key", client_cert[1], "-ign_eof", input=req)
    assert "Hello, World!" in out, out
    assert "Acceptable client certificate CA names" in out
    assert "CN = Test CA" in out or "CN=Test CA" in out


def test_client_ca_optional(mtls, pki):
    make, client_cert, rogue_cert = mtls
    s = make()
    p = mtls_curl(s, pki, None)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"Hello, World!\n200"
    p = mtls_curl(s, pki, client_cert)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"Hello, World!\n200"
    # A certificate that *is* presented is still verified.
    p = mtls_curl(s, pki, rogue_cert)
    assert p.returncode in CLIENT_CERT_FAILURES, (p.returncode, p.stderr)
    assert b"Hello, World!" not in p.stdout


def test_require_client_cert_without_ca_is_rejected(tmp_path):
    p = run([TRIDENT, "serve", "--listen", f"127.0.0.1:{free_port()}", "--state-dir", str(tmp_path / "st"), "--require-client-cert"], timeout=20)
    assert p.returncode != 0
    assert b"--client-ca" in p.stdout + p.stderr


# ---------------------------------------------------------------------------
# Bad certificate configuration: fail fast with the file named


def serve_direct(tmp_path, *args):
    port = free_port()
    return run([TRIDENT, "serve", "--listen", f"127.0.0.1:{port}", "--plaintext",
                f"127.0.0.1:{free_port()}", "--state-dir", str(tmp_path / "st"), *args],
               timeout=20)


def test_bad_cert_path(tmp_path, pki):
    crt, key = pki.leaf("localhost", ["DNS:localhost"])
    missing = str(tmp_path / "does-not-exist" / "server-cert.pem")
    p = serve_direct(tmp_path, "--cert", missing, "--key", key)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert missing in out, out


def test_bad_key_path(tmp_path, pki):
    crt, key = pki.leaf("localhost", ["DNS:localhost"])
    missing = str(tmp_path / "nope-key.pem")
    p = serve_direct(tmp_path, "--cert", crt, "--key", missing)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert missing in out, out


def test_mismatched_key(tmp_path, pki):
    crt, _ = pki.leaf("localhost", ["DNS:localhost"])
    _, other_key = pki.leaf("other.test", ["DNS:other.test"])
    p = serve_direct(tmp_path, "--cert", crt, "--key", other_key)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert other_key in out or crt in out, out


def test_garbage_cert_file(tmp_path, pki):
    _, key = pki.leaf("localhost", ["DNS:localhost"])
    bad = tmp_path / "garbage.pem"
    bad.write_text("this is not a certificate\n")
    p = serve_direct(tmp_path, "--cert", str(bad), "--key", key)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert str(bad) in out, out


def test_bad_client_ca_path(tmp_path, pki):
    crt, key = pki.leaf("localhost", ["DNS:localhost"])
    missing = str(tmp_path / "no-client-ca.pem")
    p = serve_direct(tmp_path, "--cert", crt, "--key", key, "--client-ca", missing)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode != 0, out
    assert missing in out, out


def test_cert_without_key(tmp_path, pki):
    crt, _ = pki.leaf("localhost", ["DNS:localhost"])
    p = serve_direct(tmp_path, "--cert", crt)
    assert p.returncode != 0
    assert b"--key" in p.stdout + p.stderr


def test_tls_healthy_after_garbage(server):
    """Plain HTTP bytes sent to the TLS port: the server closes, stays up."""
    import socket
    with socket.create_connection(("127.0.0.1", server.tls_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        try:
            data = sock.recv(4096)
            while data:
                assert b"200" not in data
                data = sock.recv(4096)
        except (ConnectionResetError, TimeoutError, OSError):
            pass
    assert_healthy(server, tls=True)
