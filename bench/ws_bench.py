#!/usr/bin/python3
"""Side-by-side WebSocket benchmark: trident vs uWebSockets vs the npm ws server.

Every server runs in one thread / one worker pinned to CPU 0 (taskset -c 0);
the load generator, bench/ws_load (our own C++ epoll client), runs on CPU 1.

Scenarios
  echo32    echo, 100 connections x 16 messages in flight, 32 B      msgs/s, CPU us/msg
  echo1k    echo, 100 connections x 16 messages in flight, 1 KiB     msgs/s, CPU us/msg
  rtt1      echo, 1 connection x 1 message in flight, 32 B           p50/p99 round trip
  rtt100    echo, 100 connections x 1 message in flight, 32 B        p50/p99 round trip
  idle      10,000 idle WebSocket connections (fresh server per round):
            server VmRSS / RssAnon growth per connection
  fanout    10,000 subscribers + 1 publisher on /ws/broadcast; one publish at a
            time, the next one when every receiver has the previous one: deliveries/s
  fanout16  the same with up to 16 publishes outstanding (lets servers coalesce)

For every measured interval ws_load reads the server's utime+stime from
/proc/PID/stat at its start and end: server CPU time per message (or per
delivery) is the figure that stays stable on a shared machine.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from own_tools import ensure_tool

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_TRIDENT = os.path.join(REPO, "build", "trident")
DEFAULT_UWS = "/work/tools/uws/uws_echo"
NODE_SERVER = os.path.join(HERE, "anchors", "ws_echo_server.mjs")

ALL_SERVERS = ["trident", "uws", "ws"]
ALL_SCENARIOS = ["echo32", "echo1k", "rtt1", "rtt100", "idle", "fanout", "fanout16"]
SCENARIO_TITLES = {
    "echo32": "Echo throughput, 32 B, 100 connections x 16 in flight",
    "echo1k": "Echo throughput, 1 KiB, 100 connections x 16 in flight",
    "rtt1": "Round trip, 32 B, 1 connection x 1 in flight",
    "rtt100": "Round trip, 32 B, 100 connections x 1 in flight",
    "idle": "Memory: idle WebSocket connections",
    "fanout": "Fan-out: one publish at a time to every subscriber",
    "fanout16": "Fan-out: up to 16 publishes outstanding",
}
ECHO = {  # scenario -> (connections, in flight, size)
    "echo32": (100, 16, 32),
    "echo1k": (100, 16, 1024),
    "rtt1": (1, 1, 32),
    "rtt100": (100, 1, 32),
}
FANOUT_WINDOW = {"fanout": 1, "fanout16": 16}
SERVER_CPU = "0"
CLIENT_CPU = "1"

COMMANDS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def note_command(label, argv):
    # the server pid changes with every start: show it as PID
    shown = list(argv)
    for i in range(len(shown) - 1):
        if shown[i] == "--server-pid":
            shown[i + 1] = "PID"
    line = "%-26s %s" % (label + ":", " ".join(shlex.quote(a) for a in shown))
    if line not in COMMANDS:
        COMMANDS.append(line)


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
    def __init__(self, name, tmp, port, argv, note=""):
        self.name = name
        self.port = port
        self.argv = ["taskset", "-c", SERVER_CPU] + argv
        self.note = note
        self.proc = None
        self.logpath = os.path.join(tmp, "%s.out" % name)

    def start(self):
        if not port_free(self.port):
            raise RuntimeError("%s: port %d is already in use (use --base-port)"
                               % (self.name, self.port))
        note_command("start " + self.name, self.argv)
        logf = open(self.logpath, "ab")
        # taskset exec()s the server, so proc.pid is the server's pid.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=REPO)
        logf.close()
        if not wait_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("%s did not start listening on %d; log %s:\n%s"
                               % (self.name, self.port, self.logpath, self.log_tail()))
        time.sleep(0.3)

    def log_tail(self, n=2000):
        try:
            with open(self.logpath) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
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
        self.proc = None


def make_servers(args, tmp):
    out, skipped = {}, {}
    for name in args.servers:
        port = args.base_port + ALL_SERVERS.index(name)
        if name == "trident":
            argv = [args.trident, "serve", "--no-tls",
                    "--plaintext", "127.0.0.1:%d" % port,
                    "--workers", "1", "--log-level", "warn",
                    "--max-connections", "20000", "--idle-timeout", "300",
                    "--ws-max-per-ip", "20000",
                    "--ws-max-message", str(16 * 2**20),
                    "--ws-ping-interval", "0"] + args.trident_arg
            out[name] = Server(name, tmp, port, argv,
                               "1 worker; heartbeats off (--ws-ping-interval 0), no "
                               "permessage-deflate offered by the client")
        elif name == "uws":
            if not os.access(args.uws_bin, os.X_OK):
                skipped[name] = ("no uWebSockets binary at %s (see bench/README.md, "
                                 "'Building the uWebSockets anchor'); skipped" % args.uws_bin)
                continue
            out[name] = Server(name, tmp, port, [args.uws_bin, str(port)],
                               "uWebSockets %s, one thread, compression off, no pings, "
                               "idleTimeout off" % args.uws_version)
        elif name == "ws":
            if not shutil.which(args.node):
                skipped[name] = "node not found; skipped"
                continue
            if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
                skipped[name] = ("bench/node_modules/ws missing (run: cd bench && npm ci); "
                                 "skipped")
                continue
            out[name] = Server(name, tmp, port, [args.node, NODE_SERVER, str(port)],
                               "npm ws %s on node %s, perMessageDeflate off" % (
                                   ws_version(), node_version(args.node)))
    return out, skipped


def ws_version():
    try:
        with open(os.path.join(HERE, "node_modules", "ws", "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def node_version(node):
    try:
        return subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def uws_version(path):
    """Commit of the uWebSockets checkout next to the binary (if it is a git tree
    or was recorded in VERSION), for the report."""
    d = os.path.dirname(os.path.abspath(path))
    try:
        with open(os.path.join(d, "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "(version unknown)"


# --------------------------------------------------------------------------
# ws_load
# --------------------------------------------------------------------------

def ensure_ws_load(args, tmp):
    if args.ws_load:
        if not os.access(args.ws_load, os.X_OK):
            raise RuntimeError("--ws-load %s is not executable" % args.ws_load)
        return args.ws_load
    return ensure_tool("ws_load", tmp, log)


def run_ws_load(args, label, argv, timeout):
    """Runs ws_load pinned to the client CPU; returns its parsed JSON result."""
    full = ["taskset", "-c", CLIENT_CPU, args.ws_load_bin] + argv
    if label:
        note_command(label, full)
    try:
        cp = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, text=True)
        out, err, rc = cp.stdout, cp.stderr, cp.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode()
        err, rc = "timeout after %ds" % timeout, -1
    r = None
    for line in reversed(out.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                r = json.loads(line)
                break
            except ValueError:
                pass
    if r is None:
        r = {"errors": 1, "error_text": {"no result from ws_load (exit %d): %s"
                                         % (rc, (err or out).strip()[-300:]): 1}}
    if args.verbose:
        log("  " + " ".join(full))
        log("  " + out.strip())
        if err.strip():
            log("  stderr: " + err.strip())
    r["exit_status"] = rc
    return r


def error_list(r):
    return ["%s (%d)" % (k, v) if v != 1 else k for k, v in r.get("error_text", {}).items()]


def echo_argv(args, srv, scen, warmup=False):
    c, k, s = ECHO[scen]
    dur = args.warmup if warmup else args.duration
    return ["echo", "--port", str(srv.port), "--path", "/ws/echo", "--opcode", args.opcode,
            "--connections", str(c), "--in-flight", str(k), "--size", str(s),
            "--duration", "%g" % dur, "--warmup", "0" if warmup else "%g" % args.warmup,
            "--server-pid", str(srv.pid)]


def run_echo(args, srv, scen, warmup=False):
    argv = echo_argv(args, srv, scen, warmup)
    label = None if warmup else "%s %s" % (scen, srv.name)
    r = run_ws_load(args, label, argv, timeout=args.duration + args.warmup + 120)
    finish(r, srv)
    return r


def run_fanout(args, srv, scen):
    argv = ["fanout", "--port", str(srv.port), "--path", "/ws/broadcast?topic=bench",
            "--opcode", args.opcode, "--connections", str(args.subscribers),
            "--size", "32", "--messages", str(args.fanout_messages),
            "--warmup-msgs", "5", "--window", str(FANOUT_WINDOW[scen]),
            "--duration", "%g" % args.duration, "--publish-timeout", "10",
            "--server-pid", str(srv.pid)]
    r = run_ws_load(args, "%s %s" % (scen, srv.name), argv, timeout=args.duration + 180)
    finish(r, srv)
    time.sleep(1.0)  # let the server reap 10k connections before the next run
    return r


def run_idle(args, srv):
    srv.start()
    try:
        argv = ["idle", "--port", str(srv.port), "--path", "/ws/echo", "--opcode", args.opcode,
                "--connections", str(args.connections), "--batch", str(args.conn_batch),
                "--settle", "%g" % args.settle, "--warm-conns", "50",
                "--server-pid", str(srv.pid)]
        r = run_ws_load(args, "idle %s" % srv.name, argv, timeout=300)
        finish(r, srv)
        return r
    finally:
        srv.stop()


def finish(r, srv):
    if r.get("exit_status") not in (0, 1):
        r["errors"] = r.get("errors", 0) + 1
        r.setdefault("error_text", {})["ws_load exit status %s" % r.get("exit_status")] = 1
    if not srv.alive():
        r["errors"] = r.get("errors", 0) + 1
        r.setdefault("error_text", {})["server exited during the run"] = 1


def sanity_check(args, srv):
    """Echo (binary and text) and a 3-connection broadcast must work."""
    for opcode in ("binary", "text"):
        r = run_ws_load(args, None, ["echo", "--port", str(srv.port), "--opcode", opcode,
                                     "--connections", "2", "--in-flight", "2", "--size",
                                     "200", "--duration", "0.2", "--warmup", "0"], timeout=30)
        if r.get("errors") or not r.get("messages"):
            raise RuntimeError("%s: /ws/echo %s check failed: %s"
                               % (srv.name, opcode, "; ".join(error_list(r)) or "no messages"))
    r = run_ws_load(args, None, ["fanout", "--port", str(srv.port), "--path",
                                 "/ws/broadcast?topic=sanity", "--connections", "3",
                                 "--messages", "3", "--warmup-msgs", "1"], timeout=30)
    if r.get("errors") or r.get("messages") != 3:
        raise RuntimeError("%s: /ws/broadcast check failed: %s"
                           % (srv.name, "; ".join(error_list(r)) or "incomplete"))


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


def errs_cell(runs):
    n = sum(r.get("errors", 0) for r in runs)
    return ("%d !!" % n) if n else "0"


def rtt(r, key):
    v = r.get("rtt_us") or r.get("complete_us")
    return v.get(key) if isinstance(v, dict) else None


def client_busy(r):
    d = r.get("duration_s") or 0
    return (r.get("client_cpu_s") or 0) / d if d > 0 else None


def paired_ratio(mine_runs, other_runs, key):
    """Median over rounds of the ratio within each round. The servers of one
    round run back to back, so this cancels the slow drift of a shared
    machine that the ratio of the two medians still carries."""
    return med([ratio(a.get(key), b.get(key)) for a, b in zip(mine_runs, other_runs)])


def print_ratios(summary, labels, results=None, paired=()):
    """summary: name -> tuple of figures; labels: names of the first figures;
    paired: (label, key) pairs also given as per-round ratios from results."""
    if "trident" not in summary:
        return
    t = summary["trident"]
    for other in ("uws", "ws"):
        if other in summary:
            o = summary[other]
            cells = ["%s %s" % (lab, fmt(ratio(t[i], o[i]), ".3f"))
                     for i, lab in enumerate(labels)]
            if paired and results:
                cells.append("(paired per round: %s)" % ", ".join(
                    "%s %s" % (lab, fmt(paired_ratio(results.get("trident", []),
                                                     results.get(other, []), key), ".3f"))
                    for lab, key in paired))
            print("  trident/%-4s %s" % (other, "   ".join(cells)))


def print_echo_table(scen, results, servers):
    print()
    print("== %s) %s" % (scen, SCENARIO_TITLES[scen]))
    hdr = "%-8s %12s %11s %9s %9s %10s %8s  %s" % (
        "server", "msgs/s", "CPU us/msg", "p50 us", "p99 us", "client CPU", "errors",
        "per-round msgs/s")
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for name in servers:
        runs = results.get(name, [])
        if not runs:
            continue
        rate = med([r.get("msgs_per_s") for r in runs])
        cpu = med([r.get("server_cpu_us_per_msg") for r in runs])
        p50 = med([rtt(r, "p50") for r in runs])
        p99 = med([rtt(r, "p99") for r in runs])
        busy = med([client_busy(r) for r in runs])
        summary[name] = (rate, cpu, p99)
        print("%-8s %12s %11s %9s %9s %9s%% %8s  %s" % (
            name, fmt(rate, ",.0f"), fmt(cpu, ".3f"), fmt(p50, ",.0f"), fmt(p99, ",.0f"),
            fmt(busy * 100 if busy is not None else None, ".0f"), errs_cell(runs),
            " ".join(fmt(r.get("msgs_per_s"), ".0f") for r in runs)))
    print_ratios(summary, ["msgs/s", "CPU us/msg", "p99"], results,
                 [("msgs/s", "msgs_per_s"), ("CPU", "server_cpu_us_per_msg")])
    return summary


def print_idle_table(results, servers, nconn):
    print()
    print("== idle) %s (%d connections)" % (SCENARIO_TITLES["idle"], nconn))
    hdr = "%-8s %10s %10s %8s %12s %13s %8s %8s" % (
        "server", "RSS before", "RSS after", "open", "bytes/conn", "anon b/conn", "closed",
        "errors")
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for name in servers:
        runs = results.get(name, [])
        if not runs:
            continue
        b = med([r.get("server_rss_before") for r in runs])
        a = med([r.get("server_rss_after") for r in runs])
        n = med([r.get("open_after_settle") for r in runs])
        bpc = med([r.get("rss_bytes_per_conn") for r in runs])
        apc = med([r.get("anon_bytes_per_conn") for r in runs])
        closed = sum(r.get("closed_by_server", 0) for r in runs)
        summary[name] = (bpc, apc)
        print("%-8s %9.1fM %9.1fM %8s %12s %13s %8d %8s" % (
            name, (b or 0) / 2**20, (a or 0) / 2**20, fmt(n, ".0f"), fmt(bpc, ",.0f"),
            fmt(apc, ",.0f"), closed, errs_cell(runs)))
    print_ratios(summary, ["bytes/conn", "anon b/conn"])
    return summary


def print_fanout_table(scen, results, servers, nsub):
    print()
    print("== %s) %s (%d subscribers + 1 publisher, 32 B)" % (scen, SCENARIO_TITLES[scen],
                                                              nsub))
    hdr = "%-8s %13s %14s %10s %9s %9s %10s %8s" % (
        "server", "deliveries/s", "CPU us/deliv", "publish/s", "p50 ms", "p99 ms",
        "client CPU", "errors")
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for name in servers:
        runs = results.get(name, [])
        if not runs:
            continue
        rate = med([r.get("deliveries_per_s") for r in runs])
        cpu = med([r.get("server_cpu_us_per_delivery") for r in runs])
        pubs = med([r.get("msgs_per_s") for r in runs])
        p50 = med([rtt(r, "p50") for r in runs])
        p99 = med([rtt(r, "p99") for r in runs])
        busy = med([client_busy(r) for r in runs])
        summary[name] = (rate, cpu)
        print("%-8s %13s %14s %10s %9s %9s %9s%% %8s" % (
            name, fmt(rate, ",.0f"), fmt(cpu, ".3f"), fmt(pubs, ",.1f"),
            fmt(p50 / 1000 if p50 is not None else None, ".1f"),
            fmt(p99 / 1000 if p99 is not None else None, ".1f"),
            fmt(busy * 100 if busy is not None else None, ".0f"), errs_cell(runs)))
    print_ratios(summary, ["deliveries/s", "CPU us/delivery"], results,
                 [("deliveries/s", "deliveries_per_s"), ("CPU", "server_cpu_us_per_delivery")])
    return summary


def print_targets(summaries):
    """The issue's targets, evaluated on the medians above (trident/other)."""
    lines = []

    def check(scen, other, idx, label, op, target):
        s = summaries.get(scen, {})
        if "trident" not in s or other not in s:
            return
        r = ratio(s["trident"][idx], s[other][idx])
        if r is None:
            return
        met = r >= target if op == ">=" else r <= target
        lines.append("  %-8s trident/%-4s %-12s %7.3f   target %s %.3g   %s" % (
            scen, other, label, r, op, target, "met" if met else "NOT MET"))

    for scen in ("echo32", "echo1k"):
        check(scen, "uws", 0, "msgs/s", ">=", 1.0)
        check(scen, "uws", 1, "CPU us/msg", "<=", 1.0)
        check(scen, "ws", 0, "msgs/s", ">=", 3.0)
        check(scen, "ws", 1, "CPU us/msg", "<=", 1 / 3)
    check("idle", "uws", 0, "bytes/conn", "<=", 1.0)
    if lines:
        print()
        print("Targets (WebSocket issue): echo >= 1.0x uWebSockets and >= 3x ws (msgs/s, "
              "and CPU per message), idle bytes/conn <= uWebSockets")
        for line in lines:
            print(line)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 s runs, 1 s warm-up, 1 round")
    ap.add_argument("--duration", type=float, help="measured seconds per echo and "
                    "fan-out run (default 10)")
    ap.add_argument("--warmup", type=float, help="unmeasured seconds at the start of each "
                    "echo run, plus one unmeasured run per server and scenario (default 2)")
    ap.add_argument("--rounds", type=int, help="rounds per scenario (default 3)")
    ap.add_argument("--scenarios", default=",".join(ALL_SCENARIOS))
    ap.add_argument("--servers", default=",".join(ALL_SERVERS))
    ap.add_argument("--trident", default=DEFAULT_TRIDENT, help="trident binary")
    ap.add_argument("--trident-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for 'trident serve' (repeatable)")
    ap.add_argument("--uws-bin", default=DEFAULT_UWS,
                    help="uWebSockets anchor binary (default %s; skipped if missing)"
                    % DEFAULT_UWS)
    ap.add_argument("--node", default="node", help="node binary for the ws anchor")
    ap.add_argument("--ws-load", help="ws_load binary (default: build/bench/ws_load if "
                    "up to date, else compiled from bench/ws_load.cpp into the temp dir)")
    ap.add_argument("--opcode", choices=["binary", "text"], default="binary",
                    help="frame type of every message (default binary; text makes the "
                         "servers validate UTF-8)")
    ap.add_argument("--base-port", type=int, default=24200,
                    help="trident P, uws P+1, ws P+2 (default 24200; keep below the "
                         "ephemeral port range)")
    ap.add_argument("--connections", type=int, default=10000,
                    help="idle connections (default 10000)")
    ap.add_argument("--conn-batch", type=int, default=500,
                    help="handshakes in flight at a time when opening many connections")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds between opening the idle connections and reading RSS")
    ap.add_argument("--subscribers", type=int, default=10000,
                    help="fan-out subscribers (default 10000)")
    ap.add_argument("--fanout-messages", type=int, default=100000,
                    help="cap on the measured publishes of a fan-out run; a run ends after "
                         "--duration seconds or this many publishes (default 100000)")
    ap.add_argument("--json", metavar="PATH", help="also write every run's figures to PATH")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (server logs)")
    ap.add_argument("--verbose", action="store_true", help="print every ws_load result")
    args = ap.parse_args()
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in args.scenarios:
        if s not in ALL_SCENARIOS:
            ap.error("unknown scenario %r (known: %s)" % (s, ", ".join(ALL_SCENARIOS)))
    for s in args.servers:
        if s not in ALL_SERVERS:
            ap.error("unknown server %r (known: %s)" % (s, ", ".join(ALL_SERVERS)))
    args.uws_version = uws_version(args.uws_bin)
    return args


def preflight(args):
    problems = []
    if not shutil.which("taskset"):
        problems.append("taskset not found")
    if "trident" in args.servers and not os.access(args.trident, os.X_OK):
        problems.append("trident not executable: %s" % args.trident)
    if os.cpu_count() is None or os.cpu_count() < 2:
        problems.append("need at least 2 CPUs (server on CPU 0, client on CPU 1)")
    if problems:
        sys.exit("preflight failed: " + "; ".join(problems))
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        if lo <= args.base_port + 2 and args.base_port <= hi:
            log("warning: ports %d-%d overlap the ephemeral range %d-%d"
                % (args.base_port, args.base_port + 2, lo, hi))
    except (OSError, ValueError):
        pass
    # The servers inherit this limit; ws_load raises its own soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(args.connections + 100, args.subscribers + 100)
    if soft < need and ("idle" in args.scenarios or "fanout" in args.scenarios
                        or "fanout16" in args.scenarios):
        log("warning: RLIMIT_NOFILE %d < %d; idle/fan-out use at most %d connections"
            % (soft, need, soft - 200))
        args.connections = min(args.connections, soft - 200)
        args.subscribers = min(args.subscribers, soft - 200)
    args.nofile = soft


def rotated(servers, rnd):
    k = rnd % len(servers)
    return servers[k:] + servers[:k]


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
    tmp = tempfile.mkdtemp(prefix="trident-wsbench-")
    servers, skipped = {}, {}
    failures = []
    results = {}
    started = time.time()
    try:
        args.ws_load_bin = ensure_ws_load(args, tmp)
        servers, skipped = make_servers(args, tmp)
        for name, why in skipped.items():
            log("note: %s: %s" % (name, why))
        names = [n for n in args.servers if n in servers]
        if not names:
            raise RuntimeError("no server to run")
        load_scen = [s for s in args.scenarios if s != "idle"]
        if load_scen:
            for name in names:
                servers[name].start()
                sanity_check(args, servers[name])
            for scen in load_scen:
                log("scenario %s: %s" % (scen, SCENARIO_TITLES[scen]))
                if scen in ECHO:
                    for name in names:  # warm-up run, not measured
                        w = run_echo(args, servers[name], scen, warmup=True)
                        if w.get("errors"):
                            log("  warm-up %s: %s" % (name, "; ".join(error_list(w))))
                res = results.setdefault(scen, {})
                for rnd in range(args.rounds):
                    for name in rotated(names, rnd):
                        srv = servers[name]
                        if not srv.alive():
                            raise RuntimeError("%s is no longer running; log:\n%s"
                                               % (name, srv.log_tail()))
                        if scen in ECHO:
                            r = run_echo(args, srv, scen)
                            log("  round %d %-7s msgs/s %s  CPU %s us/msg  p50 %s us  p99 %s "
                                "us%s" % (rnd + 1, name, fmt(r.get("msgs_per_s"), ",.0f"),
                                          fmt(r.get("server_cpu_us_per_msg"), ".3f"),
                                          fmt(rtt(r, "p50"), ",.0f"), fmt(rtt(r, "p99"), ",.0f"),
                                          ("  ERRORS: " + "; ".join(error_list(r)))
                                          if r.get("errors") else ""))
                        else:
                            r = run_fanout(args, srv, scen)
                            log("  round %d %-7s deliveries/s %s  CPU %s us/delivery%s" % (
                                rnd + 1, name, fmt(r.get("deliveries_per_s"), ",.0f"),
                                fmt(r.get("server_cpu_us_per_delivery"), ".3f"),
                                ("  ERRORS: " + "; ".join(error_list(r)))
                                if r.get("errors") else ""))
                        res.setdefault(name, []).append(r)
                        if r.get("errors"):
                            failures.append("%s/%s round %d: %s" % (
                                scen, name, rnd + 1, "; ".join(error_list(r))))
            for name in names:
                servers[name].stop()
        if "idle" in args.scenarios:
            log("scenario idle: %d idle connections" % args.connections)
            res = results.setdefault("idle", {})
            for rnd in range(args.rounds):
                for name in rotated(names, rnd):
                    r = run_idle(args, servers[name])
                    res.setdefault(name, []).append(r)
                    log("  round %d %-7s open %s  RSS %.1fM -> %.1fM  %s bytes/conn  "
                        "(anon %s)%s" % (
                            rnd + 1, name, r.get("open_after_settle"),
                            (r.get("server_rss_before") or 0) / 2**20,
                            (r.get("server_rss_after") or 0) / 2**20,
                            fmt(r.get("rss_bytes_per_conn"), ",.0f"),
                            fmt(r.get("anon_bytes_per_conn"), ",.0f"),
                            ("  ERRORS: " + "; ".join(error_list(r)))
                            if r.get("errors") else ""))
                    if r.get("errors"):
                        failures.append("idle/%s round %d: %s" % (
                            name, rnd + 1, "; ".join(error_list(r))))
    except BaseException:
        for s in servers.values():
            if s.proc is not None:
                log("--- %s log tail ---\n%s" % (s.name, s.log_tail()))
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for s in servers.values():
            s.stop()

    # ---------------- report ----------------
    names = [n for n in args.servers if n in servers]
    print("trident WebSocket benchmark — %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
    print("servers pinned to CPU %s (one thread / worker each), ws_load on CPU %s; %d "
          "round(s), median reported; echo runs %gs after %gs warm-up; %s frames"
          % (SERVER_CPU, CLIENT_CPU, args.rounds, args.duration, args.warmup, args.opcode))
    for name in names:
        print("  %-8s %s" % (name, servers[name].note))
    for name, why in skipped.items():
        print("  %-8s %s" % (name, why))
    summaries = {}
    for scen in args.scenarios:
        if scen not in results:
            continue
        if scen in ECHO:
            summaries[scen] = print_echo_table(scen, results[scen], names)
        elif scen == "idle":
            summaries[scen] = print_idle_table(results[scen], names, args.connections)
            print("  50,000 connections are not measured: the open-files limit is %d per "
                  "process (hard), and both ws_load and the server need one descriptor "
                  "per connection." % args.nofile)
        else:
            summaries[scen] = print_fanout_table(scen, results[scen], names, args.subscribers)
    print()
    print("Ratios are trident/other: msgs/s and deliveries/s > 1 mean trident is faster; "
          "CPU us, p99 and bytes/conn < 1 mean trident uses less.")
    print_targets(summaries)
    print()
    print("Commands (ws_load is bench/ws_load.cpp):")
    for c in COMMANDS:
        print("  " + c)
    print("Elapsed: %.0f s" % (time.time() - started))
    if args.json:
        dump = {"settings": {k: v for k, v in vars(args).items()},
                "commands": COMMANDS, "skipped": skipped, "results": results,
                "failures": failures}
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)
        print("JSON: %s" % args.json)
    if failures:
        print()
        print("!! RUNS WITH ERRORS (figures from these runs are suspect):")
        for f in failures:
            print("  " + f)
    if args.keep_tmp:
        print("Server logs: %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
