#!/usr/bin/python3
"""Side-by-side HTTP benchmark: trident vs nginx vs h2o.

Every server runs with ONE worker pinned to CPU 0 (taskset -c 0); the load
generator (wrk, h2load, or this script for the memory test) runs on CPU 1.

Scenarios
  a  HTTP/1.1 keep-alive     wrk -t1 -c256 -d<D> --latency            req/s, p99
  b  HTTP/1.1 pipelined x16  wrk -t1 -c256 -d<D> -s pipeline.lua -- 16 req/s
  c  HTTP/2 cleartext (h2c)  h2load -c16 -m32 -n<N> -t1 (prior knowledge)
  d  HTTPS, HTTP/2 over TLS  h2load -c16 -m32 -n<N> -t1 (ALPN h2)
  e  memory                  10,000 idle keep-alive HTTP/1.1 connections,
                             server RSS delta / connection

For every load run the server's CPU time (utime+stime of every process in
its tree, from /proc/PID/stat) is sampled before and after, and divided by
the number of completed requests -> CPU us/req.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import errno
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import resource
import http.client

from own_tools import ensure_tool

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_TRIDENT = os.path.join(REPO, "build", "trident")
PIPELINE_LUA = os.path.join(HERE, "pipeline.lua")

ALL_SERVERS = ["trident", "trident-handler", "nginx", "h2o", "floor", "floor-uring"]
# The floor responders speak plaintext HTTP/1.1 only. trident-handler is
# trident asked for /hello, the same answer as /plaintext from a coroutine
# handler instead of the direct-response table; on HTTP/2 both take that path.
SERVER_SCENARIOS = {"floor": {"a", "b", "e"}, "floor-uring": {"a", "b"},
                    "trident-handler": {"a", "b"}}
ALL_SCENARIOS = ["a", "b", "c", "d", "e"]
SCENARIO_TITLES = {
    "a": "HTTP/1.1 keep-alive (wrk -t1 -c256)",
    "b": "HTTP/1.1 pipelined, depth 16 (wrk -t1 -c256 + pipeline.lua)",
    "c": "HTTP/2 cleartext, prior knowledge (h2load -c16 -m32 -t1)",
    "d": "HTTP/2 over TLS (h2load -c16 -m32 -t1, ALPN h2)",
    "e": "Memory: idle keep-alive HTTP/1.1 connections",
}
BODY = b"Hello, World!"
SERVER_CPU = "0"
CLIENT_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = 1024

# Commands actually executed, in first-use order (printed at the end).
COMMANDS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def note_command(label, argv):
    line = "%-34s %s" % (label + ":", " ".join(shlex.quote(a) for a in argv))
    if line not in COMMANDS:
        COMMANDS.append(line)


# --------------------------------------------------------------------------
# /proc helpers
# --------------------------------------------------------------------------

def _read(path):
    with open(path) as f:
        return f.read()


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the 'comm' field (index 0 = state)."""
    s = _read("/proc/%d/stat" % pid)
    return s[s.rindex(")") + 2:].split()


def process_tree(root):
    """root pid plus all of its descendants that are alive right now."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(name))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        if os.path.exists("/proc/%d" % p):
            out.append(p)
            todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids):
    """Sum of utime+stime (clock ticks) of the given processes.

    /proc/PID/stat already aggregates all threads of the process (including
    threads that have exited), so no walk of /proc/PID/task is needed."""
    total = 0
    for p in pids:
        try:
            f = _stat_fields(p)
        except OSError:
            continue
        # fields (1-based in proc(5)): 14 utime, 15 stime -> here index 11, 12
        total += int(f[11]) + int(f[12])
    return total


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            for line in _read("/proc/%d/status" % p).splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_port(port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """One server under test. ports: dict with keys h1, h2c, tls."""

    def __init__(self, name, tmp, ports, argv, note="", path="/plaintext"):
        self.name = name
        self.path = path
        self.tmp = tmp
        self.ports = ports
        self.argv = ["taskset", "-c", SERVER_CPU] + argv
        self.note = note
        self.proc = None
        self.logpath = os.path.join(tmp, "%s.out" % name)

    def url(self, scenario):
        if scenario in ("a", "b", "e"):
            return "http://127.0.0.1:%d%s" % (self.ports["h1"], self.path)
        if scenario == "c":
            return "http://127.0.0.1:%d%s" % (self.ports["h2c"], self.path)
        return "https://127.0.0.1:%d%s" % (self.ports["tls"], self.path)

    def start(self):
        for p in sorted(set(self.ports.values())):
            if not port_free(p):
                raise RuntimeError("%s: port %d is already in use (use --base-port)"
                                   % (self.name, p))
        note_command("start " + self.name, self.argv)
        logf = open(self.logpath, "ab")
        # taskset exec()s the server, so proc.pid is the server's pid.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        for p in sorted(set(self.ports.values())):
            if not wait_port(p, self.proc):
                self.stop()
                raise RuntimeError("%s did not start listening on %d; log %s:\n%s"
                                   % (self.name, p, self.logpath, self.log_tail()))
        time.sleep(0.3)  # let workers / helper processes settle

    def log_tail(self, n=2000):
        try:
            return _read(self.logpath)[-n:]
        except OSError:
            return ""

    def pids(self):
        return process_tree(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        tree = self.pids() if self.alive() else []
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Helper processes of this server (nginx worker, h2o neverbleed) that
        # outlived the master: end them by pid.
        deadline = time.monotonic() + 3
        for p in tree[1:]:
            while os.path.exists("/proc/%d" % p) and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists("/proc/%d" % p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None


def trident_argv(binary, certdir, plaintext_port, tls_port=None, extra=()):
    argv = [binary, "serve", "--plaintext", "127.0.0.1:%d" % plaintext_port]
    argv += ["--listen", "127.0.0.1:%d" % tls_port] if tls_port else ["--no-tls"]
    return argv + ["--state-dir", certdir, "--workers", "1", "--max-connections", "20000",
                   "--idle-timeout", "300", "--log-level", "warn"] + list(extra)


def make_trident(tmp, base, binary, certdir, extra=()):
    ports = {"h1": base, "h2c": base, "tls": base + 1}
    argv = trident_argv(binary, certdir, ports["h1"], ports["tls"], extra)
    note = "h2c (prior knowledge) on the plaintext listener"
    if extra:
        note += "; " + " ".join(extra)
    return Server("trident", tmp, ports, argv, note)


def make_trident_handler(tmp, base, binary, certdir, extra=()):
    ports = {"h1": base + 2}
    argv = trident_argv(binary, certdir, ports["h1"], None, extra)
    return Server("trident-handler", tmp, ports, argv,
                  "trident serving GET /hello: the same response from a coroutine "
                  "handler (request, response, router) instead of the direct table",
                  path="/hello")


def make_nginx(tmp, base, cert, key):
    ports = {"h1": base + 10, "h2c": base + 11, "tls": base + 12}
    d = os.path.join(tmp, "nginx")
    for sub in ("logs", "temp/body", "temp/proxy", "temp/fastcgi", "temp/uwsgi",
                "temp/scgi"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = """# generated by bench/http_bench.py
{user}worker_processes 1;
worker_rlimit_nofile 20000;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{
    worker_connections 20000;
}}
http {{
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
    server {{
        listen 127.0.0.1:{h1} backlog=4096;
        listen 127.0.0.1:{h2c} http2;
        listen 127.0.0.1:{tls} ssl http2;
        ssl_protocols TLSv1.2 TLSv1.3;  # 1.22 defaults to TLSv1-1.2 only
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location = /plaintext {{
            return 200 "Hello, World!";
        }}
    }}
}}
""".format(user=user, d=d, cert=cert, key=key, **ports)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    argv = ["/usr/sbin/nginx", "-p", d, "-c", path, "-g", "daemon off;"]
    return Server("nginx", tmp, ports, argv,
                  "master + 1 worker; h2c needs a separate 'listen ... http2' port "
                  "(prior knowledge only)")


def make_h2o(tmp, base, cert, key):
    ports = {"h1": base + 20, "h2c": base + 20, "tls": base + 21}
    d = os.path.join(tmp, "h2o")
    root = os.path.join(d, "docroot")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "plaintext"), "wb") as f:
        f.write(BODY)
    user = "user: root\n" if os.geteuid() == 0 else ""
    conf = """# generated by bench/http_bench.py
# No access-log directive -> no access log.
{user}pid-file: {d}/h2o.pid
error-log: {d}/error.log
num-threads: 1
max-connections: 20000
http1-request-timeout: 300
http2-idle-timeout: 300
file.mime.setdefaulttype: text/plain
file.etag: OFF
listen:
  host: 127.0.0.1
  port: {h1}
listen:
  host: 127.0.0.1
  port: {tls}
  ssl:
    certificate-file: {cert}
    key-file: {key}
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: {root}
""".format(user=user, d=d, root=root, cert=cert, key=key, **ports)
    path = os.path.join(d, "h2o.conf")
    with open(path, "w") as f:
        f.write(conf)
    argv = ["/usr/bin/h2o", "-c", path]
    return Server("h2o", tmp, ports, argv,
                  "static 13-byte file via file.dir (no mruby); h2c prior knowledge "
                  "on the plaintext listener; TLS keys via neverbleed helper process")


def make_floor(tmp, base, binary):
    ports = {"h1": base + 30}
    return Server("floor", tmp, ports, [binary, str(ports["h1"])],
                  "bench/floor_responder.cpp: bare epoll loop that parses nothing, "
                  "one read and one write per batch of request heads (the kernel floor)")


def make_floor_uring(tmp, base, binary):
    ports = {"h1": base + 31}
    return Server("floor-uring", tmp, ports, [binary, str(ports["h1"])],
                  "bench/floor_uring.cpp: the floor on io_uring, one io_uring_enter "
                  "per loop turn for all connections")


def serves(name, scenario):
    return scenario in SERVER_SCENARIOS.get(name, set(ALL_SCENARIOS))


def ensure_cert(tmp, binary, base):
    """Start trident once with --listen so it creates its dev CA + localhost
    cert/key; nginx and h2o then use the very same cert/key."""
    certdir = os.path.join(tmp, "trident-state")
    os.makedirs(certdir, exist_ok=True)
    cert = os.path.join(certdir, "localhost.pem")
    key = os.path.join(certdir, "localhost-key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        argv = [binary, "serve", "--listen", "127.0.0.1:%d" % (base + 1),
                "--state-dir", certdir, "--workers", "1", "--log-level", "warn"]
        if not port_free(base + 1):
            raise RuntimeError("port %d in use" % (base + 1))
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            wait_port(base + 1, p, timeout=15)
        finally:
            p.terminate()
            try:
                p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if not (os.path.exists(cert) and os.path.exists(key)):
        raise RuntimeError("trident did not create %s / %s" % (cert, key))
    return certdir, cert, key


def build_servers(args, tmp):
    certdir, cert, key = ensure_cert(tmp, args.trident, args.base_port)
    makers = {
        "trident": lambda: make_trident(tmp, args.base_port, args.trident, certdir,
                                        args.trident_arg),
        "trident-handler": lambda: make_trident_handler(tmp, args.base_port, args.trident,
                                                        certdir, args.trident_arg),
        "nginx": lambda: make_nginx(tmp, args.base_port, cert, key),
        "h2o": lambda: make_h2o(tmp, args.base_port, cert, key),
        "floor": lambda: make_floor(tmp, args.base_port, ensure_tool("floor_responder", tmp, log)),
        "floor-uring": lambda: make_floor_uring(
            tmp, args.base_port, ensure_tool("floor_uring", tmp, log, libs=["-luring"])),
    }
    servers = {}
    for name in args.servers:
        try:
            servers[name] = makers[name]()
        except RuntimeError as e:
            if name != "floor-uring":
                raise
            # An extra anchor, not worth failing the run for (liburing-dev
            # comes with setup.sh --bench).
            log("floor-uring skipped: %s" % str(e).splitlines()[0])
    return servers


def sanity_check(srv):
    """GET /plaintext over HTTP/1.1 (plaintext and TLS); returns a short
    description or raises."""
    desc = []
    for scheme in ("http", "https") if "tls" in srv.ports else ("http",):
        if scheme == "http":
            conn = http.client.HTTPConnection("127.0.0.1", srv.ports["h1"], timeout=5)
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", srv.ports["tls"],
                                               timeout=5, context=ctx)
        try:
            conn.request("GET", srv.path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200 or body != BODY:
                raise RuntimeError("%s %s: status %d body %r" % (srv.name, scheme,
                                                                 r.status, body[:60]))
            if scheme == "http":
                desc.append("content-type=%s; headers: %s" % (
                    r.getheader("content-type"),
                    ", ".join(k.lower() for k, _ in r.getheaders())))
        finally:
            conn.close()
    return "; ".join(desc)


# --------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(out):
    r = {"rps": None, "p99_ms": None, "requests": None, "errors": 0, "error_text": []}
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if m:
        r["p99_ms"] = _ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        n = sum(int(x) for x in m.groups())
        if n:
            r["errors"] += n
            r["error_text"].append(m.group(0))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m and int(m.group(1)):
        r["errors"] += int(m.group(1))
        r["error_text"].append(m.group(0))
    if r["requests"] is None or r["rps"] is None:
        r["errors"] += 1
        r["error_text"].append("could not parse wrk output")
    return r


def parse_h2load(out, want_proto):
    r = {"rps": None, "p99_ms": None, "requests": None, "errors": 0, "error_text": []}
    m = re.search(r"finished in ([\d.]+)(us|ms|s),\s+([\d.]+) req/s", out)
    secs = None
    if m:
        secs = float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    if m:
        total, started, done, ok, failed, errored, tmo = (int(x) for x in m.groups())
        r["requests"] = ok
        # h2load counts 4xx/5xx responses as "failed", so total - succeeded
        # covers failed, errored, timed-out and never-finished requests.
        if failed or errored or tmo or ok != total:
            r["errors"] += max(failed + errored + tmo, total - ok)
            r["error_text"].append(m.group(0))
            sc = re.search(r"status codes: .*", out)
            if sc:
                r["error_text"].append(sc.group(0))
    else:
        r["errors"] += 1
        r["error_text"].append("no 'requests:' line in h2load output")
    m = re.search(r"Application protocol: (\S+)", out)
    if not m or m.group(1) != want_proto:
        r["errors"] += 1
        r["error_text"].append("negotiated protocol %s, expected %s"
                               % (m.group(1) if m else "none", want_proto))
    tls = re.search(r"TLS Protocol: (\S+)", out)
    cipher = re.search(r"Cipher: (\S+)", out)
    if tls:
        r["tls"] = "%s %s" % (tls.group(1), cipher.group(1) if cipher else "?")
    if secs and r["requests"] is not None:
        r["rps"] = r["requests"] / secs  # succeeded requests / wall time
    else:
        r["errors"] += 1
        r["error_text"].append("could not parse h2load output")
    return r


def loadgen_argv(args, scenario, url, warmup=False):
    pin = ["taskset", "-c", CLIENT_CPU]
    if scenario in ("a", "b"):
        dur = "%ds" % (args.warmup if warmup else args.duration)
        argv = pin + ["wrk", "-t1", "-c256", "-d" + dur, "--latency"]
        if scenario == "b":
            argv += ["-s", PIPELINE_LUA, url, "--", "16"]
        else:
            argv += [url]
        return argv
    n = args.warmup_h2_requests if warmup else args.h2_requests
    return pin + ["h2load", "-c16", "-m32", "-n", str(n), "-t1", url]


def run_load(args, srv, scenario, warmup=False):
    url = srv.url(scenario)
    argv = loadgen_argv(args, scenario, url, warmup)
    if not warmup:
        note_command("%s %s" % (scenario, srv.name), argv)
    timeout = (args.duration + 60) if scenario in ("a", "b") else 300
    pids = srv.pids()
    t0 = cpu_ticks(pids)
    try:
        cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=timeout, text=True)
        out = cp.stdout
        rc = cp.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = -1
    t1 = cpu_ticks(srv.pids())
    if scenario in ("a", "b"):
        r = parse_wrk(out)
    else:
        r = parse_h2load(out, "h2c" if scenario == "c" else "h2")
    if rc != 0:
        r["errors"] += 1
        r["error_text"].append("load generator exit status %d" % rc)
    if not srv.alive():
        r["errors"] += 1
        r["error_text"].append("server exited during the run")
    r["cpu_s"] = (t1 - t0) / CLK_TCK
    if r["requests"]:
        r["cpu_us_per_req"] = (t1 - t0) * 1e6 / CLK_TCK / r["requests"]
    else:
        r["cpu_us_per_req"] = None
    r["raw"] = out
    return r


# --------------------------------------------------------------------------
# Memory scenario client
# --------------------------------------------------------------------------

class _Conn:
    __slots__ = ("sock", "state", "buf", "out")

    def __init__(self, sock, out):
        self.sock = sock
        self.state = "connecting"
        self.buf = b""
        self.out = out


def _response_complete(buf):
    """None = need more data; otherwise the status code."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split()[1])
    except (IndexError, ValueError):
        return -1
    clen = 0
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
    if len(buf) - (end + 4) < clen:
        return None
    return status


def open_idle_connections(port, count, batch, timeout=30.0):
    """Open `count` keep-alive connections; each sends one GET /plaintext and
    reads the full response, then stays open. Returns (open_sockets, errors)."""
    req = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    done, errors = [], {}

    def fail(c, why):
        errors[why] = errors.get(why, 0) + 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    opened = 0
    while opened < count:
        k = min(batch, count - opened)
        opened += k
        pending = 0
        for _ in range(k):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                errors["connect: " + os.strerror(err)] = errors.get(
                    "connect: " + os.strerror(err), 0) + 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, _Conn(s, req))
            pending += 1
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                c = key.data
                try:
                    if c.state == "connecting":
                        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            fail(c, "connect: " + os.strerror(err))
                            pending -= 1
                            continue
                        c.state = "writing"
                    if c.state == "writing":
                        n = c.sock.send(c.out)
                        c.out = c.out[n:]
                        if not c.out:
                            c.state = "reading"
                            sel.modify(c.sock, selectors.EVENT_READ, c)
                        continue
                    data = c.sock.recv(65536)
                    if not data:
                        fail(c, "closed by server before response")
                        pending -= 1
                        continue
                    c.buf += data
                    st = _response_complete(c.buf)
                    if st is None:
                        continue
                    pending -= 1
                    if st != 200:
                        fail(c, "status %d" % st)
                        continue
                    sel.unregister(c.sock)
                    c.buf = b""
                    done.append(c.sock)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    fail(c, "socket: " + (e.strerror or str(e)))
                    pending -= 1
        if pending:
            for key in list(sel.get_map().values()):
                fail(key.data, "timeout")
    sel.close()
    return done, errors


def count_closed(socks):
    """How many of the idle connections the server has closed (EOF/RST)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    for key, _ in sel.select(0):
        try:
            if key.fileobj.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    sel.close()
    return closed


def warm_up_h1(port, n=200):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for _ in range(n):
            conn.request("GET", "/plaintext")
            conn.getresponse().read()
    finally:
        conn.close()


def run_memory(args, srv):
    srv.start()
    socks = []
    try:
        warm_up_h1(srv.ports["h1"])
        time.sleep(0.5)
        before = rss_bytes(srv.pids())
        t0 = cpu_ticks(srv.pids())
        socks, errors = open_idle_connections(srv.ports["h1"], args.connections,
                                              args.conn_batch)
        time.sleep(args.settle)
        after = rss_bytes(srv.pids())
        t1 = cpu_ticks(srv.pids())
        closed = count_closed(socks)
        n = len(socks)
        r = {"rss_before": before, "rss_after": after, "open": n,
             "closed_by_server": closed, "errors": sum(errors.values()) + closed,
             "error_text": ["%s: %d" % kv for kv in sorted(errors.items())],
             "bytes_per_conn": (after - before) / n if n else None,
             "cpu_s": (t1 - t0) / CLK_TCK}
        if closed:
            r["error_text"].append("closed by server while idle: %d" % closed)
        if n != args.connections:
            r["error_text"].append("only %d of %d connections established"
                                   % (n, args.connections))
        if not srv.alive():
            r["errors"] += 1
            r["error_text"].append("server exited during the run")
        return r
    finally:
        for s in socks:
            s.close()
        srv.stop()


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return None if (a is None or b in (None, 0)) else a / b


def print_load_table(scenario, results, servers):
    print()
    print("== %s) %s" % (scenario, SCENARIO_TITLES[scenario]))
    hdr = "%-15s %12s %10s %12s %8s  %s" % ("server", "req/s", "p99 ms", "CPU us/req",
                                            "errors", "per-round req/s")
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for name in servers:
        runs = results.get(name, [])
        rps = med([r["rps"] for r in runs])
        p99 = med([r["p99_ms"] for r in runs]) if scenario == "a" else None
        cpu = med([r["cpu_us_per_req"] for r in runs])
        errs = sum(r["errors"] for r in runs)
        summary[name] = (rps, cpu)
        print("%-15s %12s %10s %12s %8s  %s" % (
            name, fmt(rps, ",.0f"), fmt(p99, ".2f"), fmt(cpu, ".2f"),
            ("%d !!" % errs) if errs else "0",
            " ".join(fmt(r["rps"], ".0f") for r in runs)))
    for name in servers:
        tls = sorted({r["tls"] for r in results.get(name, []) if r.get("tls")})
        if tls:
            print("  %-8s negotiated %s" % (name, ", ".join(tls)))
    print_ratios(summary, "req/s", "CPU us/req", results)
    return summary


def paired_cpu_ratio(mine_runs, other_runs):
    """Median over rounds of the CPU ratio within each round. The servers of
    one round run back to back, so this cancels the slow drift of a shared
    machine that the ratio of the two medians still carries."""
    per_round = [ratio(a.get("cpu_us_per_req"), b.get("cpu_us_per_req"))
                 for a, b in zip(mine_runs, other_runs)]
    return med(per_round)


def print_ratios(summary, a_label, b_label, results):
    if "trident" not in summary:
        return
    pairs = ([("trident", o) for o in ("nginx", "h2o", "floor", "floor-uring")] +
             [("trident-handler", o) for o in ("nginx", "h2o", "floor")] +
             [("trident", "trident-handler")] +
             [("floor", "nginx"), ("floor-uring", "nginx"), ("floor-uring", "floor")])
    for mine, other in pairs:
        if mine in summary and other in summary:
            t, o = summary[mine], summary[other]
            print("  %s/%-6s %s %s   %s %s   (paired per round: %s)" % (
                mine, other, a_label, fmt(ratio(t[0], o[0]), ".3f"),
                b_label, fmt(ratio(t[1], o[1]), ".3f"),
                fmt(paired_cpu_ratio(results.get(mine, []), results.get(other, [])), ".3f")))


def print_memory_table(results, servers, nconn):
    print()
    print("== e) %s (%d connections)" % (SCENARIO_TITLES["e"], nconn))
    hdr = "%-8s %10s %10s %10s %12s %8s" % ("server", "RSS before", "RSS after",
                                            "open", "bytes/conn", "errors")
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for name in servers:
        runs = results.get(name, [])
        b = med([r["rss_before"] for r in runs])
        a = med([r["rss_after"] for r in runs])
        bpc = med([r["bytes_per_conn"] for r in runs])
        n = med([r["open"] for r in runs])
        errs = sum(r["errors"] for r in runs)
        summary[name] = (bpc, None)
        print("%-8s %9.1fM %9.1fM %10s %12s %8s" % (
            name, (b or 0) / 2**20, (a or 0) / 2**20, fmt(n, ".0f"), fmt(bpc, ",.0f"),
            ("%d !!" % errs) if errs else "0"))
    if "trident" in summary:
        for other in ("nginx", "h2o", "floor"):
            if other in summary:
                print("  trident/%-6s bytes/conn %s" % (
                    other, fmt(ratio(summary["trident"][0], summary[other][0]), ".3f")))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 s wrk runs, 1 round, 100k h2load requests, "
                         "1 s warm-up")
    ap.add_argument("--duration", type=int, help="wrk seconds per run (default 10)")
    ap.add_argument("--rounds", type=int, help="rounds per scenario (default 3)")
    ap.add_argument("--warmup", type=int, help="wrk warm-up seconds per server and "
                                               "scenario, not measured (default 2)")
    ap.add_argument("--h2-requests", type=int, help="h2load -n (default 400000)")
    ap.add_argument("--scenarios", default="a,b,c,d,e")
    ap.add_argument("--servers", default="trident,nginx,h2o,floor,floor-uring",
                    help="servers to run; floor (bench/floor_responder.cpp) only "
                         "takes part in scenarios a, b and e, floor-uring "
                         "(bench/floor_uring.cpp) in a and b")
    ap.add_argument("--trident", default=DEFAULT_TRIDENT, help="trident binary")
    ap.add_argument("--trident-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for 'trident serve' (repeatable), e.g. "
                         "--trident-arg=--h2-engine=native")
    ap.add_argument("--base-port", type=int, default=24100,
                    help="ports used: base..base+2 trident, +10..+12 nginx, "
                         "+20..+21 h2o, +30 floor, +31 floor-uring (default 24100; keep it below the "
                         "ephemeral port range)")
    ap.add_argument("--connections", type=int, default=10000,
                    help="idle connections for scenario e (default 10000)")
    ap.add_argument("--conn-batch", type=int, default=500,
                    help="connections opened concurrently per batch in scenario e")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to wait before reading RSS in scenario e")
    ap.add_argument("--json", metavar="PATH",
                    help="also write every run's parsed figures to PATH")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir")
    ap.add_argument("--verbose", action="store_true", help="print raw tool output")
    args = ap.parse_args()
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.h2_requests is None:
        args.h2_requests = 100000 if args.quick else 400000
    args.warmup_h2_requests = max(1000, args.h2_requests // 10)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in args.scenarios:
        if s not in ALL_SCENARIOS:
            ap.error("unknown scenario %r" % s)
    for s in args.servers:
        if s not in ALL_SERVERS:
            ap.error("unknown server %r" % s)
    return args


def preflight(args):
    problems = []
    for tool in ("taskset", "wrk", "h2load"):
        if not shutil.which(tool):
            problems.append("%s not found" % tool)
    paths = {"trident": args.trident, "trident-handler": args.trident, "nginx": "/usr/sbin/nginx", "h2o": "/usr/bin/h2o"}
    for name in args.servers:
        if name in paths and not os.access(paths[name], os.X_OK):
            problems.append("%s not executable: %s" % (name, paths[name]))
    if os.cpu_count() is None or os.cpu_count() < 2:
        problems.append("need at least 2 CPUs (server on CPU 0, client on CPU 1)")
    if problems:
        sys.exit("preflight failed: " + "; ".join(problems))
    try:
        lo, hi = (int(x) for x in _read("/proc/sys/net/ipv4/ip_local_port_range").split())
        if lo <= args.base_port + 31 and args.base_port <= hi:
            log("warning: ports %d-%d overlap the ephemeral range %d-%d; client "
                "sockets may occupy them (choose --base-port below %d)"
                % (args.base_port, args.base_port + 31, lo, hi, lo - 32))
    except (OSError, ValueError):
        pass
    # This process only generates load (scenario e) -> keep it on the client CPU.
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 200
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, max(want, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if "e" in args.scenarios and soft < want:
        log("warning: RLIMIT_NOFILE %d < %d; scenario e will open at most ~%d "
            "connections" % (soft, want, soft - 200))
        args.connections = max(1, soft - 200)


def main():
    try:
        return run(parse_args())
    except RuntimeError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run(args):
    preflight(args)
    tmp = tempfile.mkdtemp(prefix="trident-bench-")
    os.chmod(tmp, 0o755)
    servers = {}
    failures = []
    load_results = {}
    mem_results = {}
    started = time.time()
    try:
        servers = build_servers(args, tmp)
        args.servers = [name for name in args.servers if name in servers]
        load_scen = [s for s in args.scenarios if s != "e"]
        notes = {}
        if load_scen:
            for name in args.servers:
                servers[name].start()
                notes[name] = sanity_check(servers[name])
            for scen in load_scen:
                log("scenario %s: %s" % (scen, SCENARIO_TITLES[scen]))
                for name in args.servers:  # warm-up, not measured
                    if not serves(name, scen):
                        continue
                    w = run_load(args, servers[name], scen, warmup=True)
                    if w["errors"]:
                        log("  warm-up %s: %s" % (name, "; ".join(w["error_text"])))
                res = load_results.setdefault(scen, {})
                for rnd in range(args.rounds):
                    # rotate the order every round so no server is always first
                    order = args.servers[rnd % len(args.servers):] + \
                        args.servers[:rnd % len(args.servers)]
                    for name in order:
                        if not serves(name, scen):
                            continue
                        r = run_load(args, servers[name], scen)
                        res.setdefault(name, []).append(r)
                        log("  round %d %-15s req/s %s  p99 %s ms  CPU %s us/req%s" % (
                            rnd + 1, name, fmt(r["rps"], ",.0f"),
                            fmt(r["p99_ms"] if scen == "a" else None, ".2f"),
                            fmt(r["cpu_us_per_req"], ".2f"),
                            ("  ERRORS: " + "; ".join(r["error_text"]))
                            if r["errors"] else ""))
                        if args.verbose:
                            log(r["raw"])
                        if r["errors"]:
                            failures.append("%s/%s round %d: %s" % (
                                scen, name, rnd + 1, "; ".join(r["error_text"])))
            for name in args.servers:
                servers[name].stop()
        if "e" in args.scenarios:
            log("scenario e: %d idle connections" % args.connections)
            for rnd in range(args.rounds):
                order = args.servers[rnd % len(args.servers):] + \
                    args.servers[:rnd % len(args.servers)]
                for name in order:
                    if not serves(name, "e"):
                        continue
                    r = run_memory(args, servers[name])
                    mem_results.setdefault(name, []).append(r)
                    log("  round %d %-7s open %d  RSS %.1fM -> %.1fM  %s bytes/conn%s" % (
                        rnd + 1, name, r["open"], r["rss_before"] / 2**20,
                        r["rss_after"] / 2**20, fmt(r["bytes_per_conn"], ",.0f"),
                        ("  ERRORS: " + "; ".join(r["error_text"])) if r["errors"] else ""))
                    if r["errors"]:
                        failures.append("e/%s round %d: %s" % (
                            name, rnd + 1, "; ".join(r["error_text"])))
    except BaseException:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for s in servers.values():
            s.stop()

    # ---------------- report ----------------
    print("trident benchmark — %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
    print("servers pinned to CPU %s (1 worker each), load generator on CPU %s; "
          "%d round(s), median reported; wrk runs %ds; h2load -n %d; CLK_TCK %d"
          % (SERVER_CPU, CLIENT_CPU, args.rounds, args.duration, args.h2_requests,
             CLK_TCK))
    for name in args.servers:
        line = "  %-15s %s" % (name, servers[name].note)
        print(line)
        if load_results and name in notes:
            print("  %-8s %s" % ("", notes[name]))
    for scen in args.scenarios:
        if scen == "e":
            print_memory_table(mem_results, [n for n in args.servers if serves(n, "e")],
                               args.connections)
        elif scen in load_results:
            print_load_table(scen, load_results[scen],
                             [n for n in args.servers if serves(n, scen)])
    print()
    print("Ratios: req/s > 1 means trident serves more; CPU us/req and bytes/conn "
          "< 1 mean trident uses less. 'paired per round' is the median of the CPU "
          "ratios of the servers' runs within each round (back to back, so slow drift "
          "of the machine cancels).")
    print()
    print("Commands:")
    for c in COMMANDS:
        print("  " + c)
    if "e" in args.scenarios:
        print("  %-34s in-process client (selectors, non-blocking sockets): %d "
              "connections, batches of %d, each 'GET /plaintext' then idle"
              % ("e <server>:", args.connections, args.conn_batch))
    print("Configs: nginx and h2o configs are generated in %s%s" % (
        tmp, "" if args.keep_tmp else " (removed; use --keep-tmp to keep them)"))
    print("Elapsed: %.0f s" % (time.time() - started))
    if args.json:
        import json
        dump = {"settings": {k: v for k, v in vars(args).items()},
                "commands": COMMANDS,
                "load": {sc: {n: [{k: v for k, v in r.items() if k != "raw"}
                                  for r in runs] for n, runs in per.items()}
                         for sc, per in load_results.items()},
                "memory": mem_results, "failures": failures}
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)
        print("JSON: %s" % args.json)
    if failures:
        print()
        print("!! RUNS WITH ERRORS (figures from these runs are suspect):")
        for f in failures:
            print("  " + f)
    if not args.keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
