"""Our own helper programs for the benchmarks (bench/*.cpp): the binary from
the CMake build when it is current, else a fresh g++ build in a temp dir.
Standard library only."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def ensure_tool(name, tmp, log=lambda msg: print(msg, file=sys.stderr, flush=True), libs=()):
    """Path of an executable for bench/<name>.cpp (linked with `libs`, e.g.
    ["-luring"]); raises RuntimeError if it cannot be built."""
    src = os.path.join(HERE, name + ".cpp")
    cand = os.path.join(REPO, "build", "bench", name)
    if os.access(cand, os.X_OK) and os.path.getmtime(cand) >= os.path.getmtime(src):
        return cand
    out = os.path.join(tmp, name)
    argv = [os.environ.get("CXX", "g++"), "-O2", "-std=c++20", "-Wall", "-Wextra", src, "-o", out] + list(libs)
    log("building %s: %s" % (name, " ".join(argv)))
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        timeout=300)
    if cp.returncode != 0:
        raise RuntimeError("could not build %s:\n%s" % (name, cp.stdout[-3000:]))
    return out
