#!/usr/bin/python3
"""rsm proxy against direct Redis, predixy, twemproxy and HAProxy: throughput, latency, CPU per
request.

Starts, side by side on loopback, one redis-server and in front of it: rsm proxy (its defaults,
dedicated mode, two threads), predixy (with --predixy PATH: not packaged, build it from its
public source outside this repository), twemproxy (nutcracker, one-server pool) and HAProxy
(tcp mode with the role:master check). Runs redis-benchmark (-c 50, SET and GET, -P 1 and
-P 16) against each in interleaved rounds, and for direct Redis and rsm's defaults also
redis-benchmark -3 (HELLO 3 on connect) and real Node.js clients with their connect handshakes
(ioredis: CLIENT SETINFO + SETNAME; node-redis RESP3: HELLO 3 + SETINFO + SETNAME; with
--node-modules DIR holding ioredis and redis, tests/bench/client_load.mjs). Reads each proxy's
and Redis's CPU time from /proc/PID/stat around every run, and prints medians with their spread
as a Markdown table (docs/benchmarks.md), with the commands Redis read per read syscall (INFO
stats): how well a proxy batches; then the targets of issue 15, met or not. With openssl, two
TLS rows: rsm proxy terminating TLS (--tls-listen, one thread) and HAProxy terminating TLS
(`bind ... ssl crt`, nbthread 1), both with a self-signed certificate made for the run and
measured with redis-benchmark --tls.

  tests/bench/proxy_bench.py [--rsm build/release/rsm] [--rounds 5] [--requests 100000]
                             [--predixy PATH] [--node-modules DIR]

Bounded: every run is a fixed number of requests with a timeout; everything it starts is
stopped at the end. Needs redis-server, redis-benchmark, nutcracker and haproxy (packaging/
bench.sh installs them).
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import free_port, haproxy_config, spread, write_between_markers

TICK = os.sysconf("SC_CLK_TCK")




def cpu_seconds(pid):
    """utime + stime of a process (and its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def redis_reads(port):
    """Redis's total_commands_processed and total_reads_processed (INFO stats)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
        reply = s.makefile("rb")
        size = int(reply.readline()[1:])  # "$<size>\r\n", then the text and its CRLF
        data = reply.read(size)
    fields = dict(line.split(":", 1) for line in data.decode().splitlines() if ":" in line)
    return int(fields["total_commands_processed"]), int(fields["total_reads_processed"])


def wait_ping(port, timeout=10.0, tls=None):
    """PING answers (over TLS with redis-cli when `tls` holds its --tls arguments)."""
    until = time.time() + timeout
    while time.time() < until:
        try:
            if tls:
                out = subprocess.run(["redis-cli", "-p", str(port), *tls, "PING"], capture_output=True,
                                     text=True, timeout=5).stdout
                if out.strip() == "PONG":
                    return True
            else:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
        except (OSError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.05)
    return False


class Stack:
    def __init__(self, rsm, tmp, predixy=None):
        self.procs = []
        self.tmp = tmp
        self.targets = {}  # name -> (port, pid of the proxy or None)
        self.tls_targets = set()  # names measured with redis-benchmark --tls
        self.tls_args = []
        try:
            self.start_all(rsm, tmp, predixy)
        except BaseException:
            self.stop()  # leave nothing behind when one of them does not start
            raise

    def start_all(self, rsm, tmp, predixy):
        self.redis_port = free_port()
        self.redis = self.start(["redis-server", "--port", str(self.redis_port), "--save", "",
                                 "--appendonly", "no", "--bind", "127.0.0.1"])
        assert wait_ping(self.redis_port), "redis-server did not start"
        self.targets["redis (direct)"] = (self.redis_port, None)
        # rsm with the defaults users get (--threads 0: a quarter of the usable cores, 1 to 4),
        # beside one-thread dedicated mode (like twemproxy, single-threaded, and HAProxy,
        # nbthread 1) and two-thread shared mode (what the default was: one per core).
        for name, extra in (("rsm proxy (defaults)", []),
                            ("rsm proxy (dedicated)", ["--threads", "1", "--backend-mode", "dedicated"]),
                            ("rsm proxy (shared, 2 threads)", ["--threads", "2"])):
            port = free_port()
            p = self.start([rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master",
                            f"127.0.0.1:{self.redis_port}", "--log-level", "warn"] + extra)
            assert wait_ping(port), f"{name} did not start"
            self.targets[name] = (port, p.pid)
        if predixy:
            port = free_port()
            conf = os.path.join(tmp, "predixy.conf")
            with open(conf, "w") as f:  # one worker thread, one server, no read from replicas
                f.write(f"Name rsmbench\nBind 127.0.0.1:{port}\nWorkerThreads 1\nClientTimeout 300\n"
                        "LogVerbSample 0\nLogDebugSample 0\nLogInfoSample 0\nLogNoticeSample 0\n"
                        "Authority {\n  Auth {\n    Mode write\n  }\n}\n"
                        "StandaloneServerPool {\n  Databases 1\n  Hash crc16\n  Distribution modula\n"
                        "  MasterReadPriority 100\n  RefreshMethod fixed\n  ServerTimeout 0\n"
                        f"  Group shard001 {{\n    + 127.0.0.1:{self.redis_port}\n  }}\n}}\n")
            p = self.start([predixy, conf])
            assert wait_ping(port), "predixy did not start"
            self.targets["predixy"] = (port, p.pid)
        if shutil.which("nutcracker"):
            port = free_port()
            conf = os.path.join(tmp, "nutcracker.yml")
            with open(conf, "w") as f:
                f.write(f"pool:\n  listen: 127.0.0.1:{port}\n  redis: true\n  preconnect: true\n"
                        f"  server_connections: 1\n  servers:\n   - 127.0.0.1:{self.redis_port}:1\n")
            p = self.start(["nutcracker", "-c", conf, "-s", str(free_port()), "-o", os.path.join(tmp, "nc.log")])
            assert wait_ping(port), "nutcracker did not start"
            self.targets["twemproxy"] = (port, p.pid)
        if shutil.which("haproxy"):
            port = free_port()
            conf = os.path.join(tmp, "haproxy.cfg")
            with open(conf, "w") as f:
                f.write(haproxy_config(port, [self.redis_port], threads=1))
            p = self.start(["haproxy", "-db", "-f", conf])
            assert wait_ping(port), "haproxy did not start"
            self.targets["HAProxy"] = (port, p.pid)

        if shutil.which("openssl"):
            self.start_tls(rsm, tmp)

    def start_tls(self, rsm, tmp):
        """TLS terminated by rsm (one thread, like HAProxy's nbthread 1) and by HAProxy, both in
        front of the same plain Redis, with a certificate made here."""
        key, crt, pem = (os.path.join(tmp, n) for n in ("tls.key", "tls.crt", "tls.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", crt], check=True, capture_output=True)
        with open(pem, "w") as f:
            f.write(open(crt).read() + open(key).read())
        self.tls_args = ["--tls", "--cacert", crt]
        port = free_port()
        p = self.start([rsm, "proxy", "--listen", "", "--tls-listen", f"127.0.0.1:{port}",
                        "--tls-cert-file", crt, "--tls-key-file", key, "--threads", "1",
                        "--master", f"127.0.0.1:{self.redis_port}", "--log-level", "warn"])
        assert wait_ping(port, tls=self.tls_args), "rsm proxy (TLS) did not start"
        self.targets["rsm proxy (TLS, 1 thread)"] = (port, p.pid)
        self.tls_targets.add("rsm proxy (TLS, 1 thread)")
        if shutil.which("haproxy"):
            port = free_port()
            conf = os.path.join(tmp, "haproxy-tls.cfg")
            with open(conf, "w") as f:
                f.write(haproxy_config(port, [self.redis_port], threads=1).replace(
                    f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{port} ssl crt {pem}"))
            p = self.start(["haproxy", "-db", "-f", conf])
            assert wait_ping(port, tls=self.tls_args), "haproxy (TLS) did not start"
            self.targets["HAProxy (TLS)"] = (port, p.pid)
            self.tls_targets.add("HAProxy (TLS)")

    def start(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.tmp)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# The clients each target is measured with: redis-benchmark's RESP2 ones, and for direct Redis
# and rsm's defaults also RESP3 ones (-3: HELLO 3 on every connection, as ioredis 6, node-redis
# 6, go-redis 9 and Lettuce 6 connect) and real clients with their connect handshakes (-P 1
# only: one request in flight per connection).
CLIENTS = {"": ("redis-benchmark", []), ", RESP3 clients": ("redis-benchmark", ["-3"]),
           ", ioredis (SETINFO+SETNAME)": ("node", ["--lib", "ioredis"]),
           ", node-redis RESP3 (HELLO+SETINFO+SETNAME)": ("node", ["--lib", "node-redis", "--resp", "3"])}
RESP3_TARGETS = ("redis (direct)", "rsm proxy (defaults)")
HERE = os.path.dirname(os.path.abspath(__file__))


def bench(port, pipeline, requests, extra=()):
    """One redis-benchmark run: SET and GET; returns (rps, p50 ms, p99 ms) averaged over both."""
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-P", str(pipeline),
                          "-t", "set,get", "--csv", "-r", "100000", *extra],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    rows = [line.replace('"', "").split(",") for line in out.splitlines() if line.startswith('"SET"') or line.startswith('"GET"')]
    rps = statistics.mean(float(r[1]) for r in rows)
    p50 = statistics.mean(float(r[4]) for r in rows)
    p99 = statistics.mean(float(r[6]) for r in rows)
    return rps, p50, p99


def bench_node(port, requests, node_modules, extra):
    """One run of client_load.mjs: `requests` SETs and GETs in all; (rps, p50 ms, p99 ms)."""
    env = dict(os.environ, RSM_NODE_MODULES=node_modules)
    out = subprocess.run(["node", os.path.join(HERE, "client_load.mjs"), "--port", str(port), "--clients", "50",
                          "--requests", str(requests), "--timeout", "120", *extra],
                         capture_output=True, text=True, timeout=300, check=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    if r["errors"] or r["requests"] < requests:
        raise RuntimeError(f"client_load.mjs: {r}")
    return r["rps"], r["p50_ms"], r["p99_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", default="build/release/rsm")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--write", metavar="FILE",
                    help="also put the tables into FILE, between its proxy-bench markers")
    ap.add_argument("--data", metavar="DIR", help="also write proxy-bench.tsv (for tests/bench/plots.gp) into DIR")
    ap.add_argument("--predixy", metavar="PATH", help="a predixy binary: adds it to the run, and its targets")
    ap.add_argument("--node-modules", metavar="DIR",
                    help="node_modules with ioredis and redis: adds the real-client rows (needs node)")
    args = ap.parse_args()
    clients = {k: v for k, v in CLIENTS.items()
               if v[0] != "node" or (args.node_modules and shutil.which("node"))}
    tmp = tempfile.mkdtemp(prefix="rsm-bench-")
    stack = Stack(os.path.abspath(args.rsm), tmp, args.predixy and os.path.abspath(args.predixy))
    results = {}  # (target, P) -> list of (rps, p50, p99, proxy us/req, redis us/req)
    try:
        for rnd in range(args.rounds):
            order = [(name + suffix, port, pid, tool, extra) for name, (port, pid) in stack.targets.items()
                     for suffix, (tool, extra) in clients.items() if not suffix or name in RESP3_TARGETS]
            random.shuffle(order)
            for pipeline in (1, 16):
                for name, port, pid, tool, extra in order:
                    if tool == "node" and pipeline > 1:
                        continue
                    if name in stack.tls_targets:
                        extra = [*extra, *stack.tls_args]
                    n = args.requests * (4 if pipeline > 1 else 1)
                    c0, reads0 = redis_reads(stack.redis_port)
                    r0 = cpu_seconds(stack.redis.pid)
                    p0 = cpu_seconds(pid) if pid else 0
                    if tool == "node":
                        rps, p50, p99 = bench_node(port, 2 * n, args.node_modules, extra)
                    else:
                        rps, p50, p99 = bench(port, pipeline, n, extra)
                    r1 = cpu_seconds(stack.redis.pid)
                    p1 = cpu_seconds(pid) if pid else 0
                    c1, reads1 = redis_reads(stack.redis_port)
                    total = 2 * n  # SET and GET
                    # Less the INFO calls' own: the first INFO counted after its snapshot, its
                    # connection's closing read and the second INFO's read.
                    per_read = (c1 - c0 - 1) / max(1, reads1 - reads0 - 2)
                    results.setdefault((name, pipeline), []).append(
                        (rps, p50, p99, (p1 - p0) * 1e6 / total, (r1 - r0) * 1e6 / total, per_read))
            print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [f"redis-benchmark -c 50 -t set,get ({args.requests} requests of each at -P 1, 4x that at -P 16); "
             f"{args.rounds} interleaved rounds; median (min–max). CPU from /proc/PID/stat.", ""]
    for pipeline in (1, 16):
        names = [n + suffix for n in stack.targets for suffix, (tool, _) in clients.items()
                 if (not suffix or n in RESP3_TARGETS) and (tool != "node" or pipeline == 1)]
        lines += [f"#### -P {pipeline}", "",
                  "| target | requests/s | vs direct | p50 ms | p99 ms | proxy µs CPU/req | Redis µs CPU/req "
                  "| Redis commands/read |",
                  "|---|---|---|---|---|---|---|---|"]
        for name in names:
            rows = results[(name, pipeline)]
            col = lambda i: [r[i] for r in rows]
            suffix = next((x for x in clients if x and name.endswith(x)), "")
            base = statistics.median(r[0] for r in results[("redis (direct)" + suffix, pipeline)])
            ratio = statistics.median(col(0)) / base  # against direct Redis with the same clients
            proxy_cpu = spread(col(3), lambda v: f"{v:.2f}") if not name.startswith("redis (direct)") else "–"
            lines.append(f"| {name} | {spread(col(0), lambda v: f'{v:,.0f}')} | {ratio:.2f} | "
                         f"{statistics.median(col(1)):.3f} | {statistics.median(col(2)):.3f} | {proxy_cpu} | "
                         f"{spread(col(4), lambda v: f'{v:.2f}')} | {statistics.median(col(5)):.1f} |")
        lines.append("")
    lines += targets(results)
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_between_markers(args.write, "proxy-bench", text)
    if args.data:
        write_data(os.path.join(args.data, "proxy-bench.tsv"), stack.targets, results)


def targets(results):
    """Issue 15's targets for rsm's defaults, each with its measured ratio (medians, same run);
    those whose peer was not in the run are left out."""
    def med(name, p, i):
        rows = results.get((name, p))
        return statistics.median(r[i] for r in rows) if rows else None

    def both_cpu(name, p):  # proxy + Redis CPU per request
        rows = results.get((name, p))
        return statistics.median(r[3] + r[4] for r in rows) if rows else None

    rsm, direct = "rsm proxy (defaults)", "redis (direct)"
    checks = []  # (what, measured, op, bound)
    for p, peer, bound in ((1, "predixy", 0.85), (16, "predixy", 0.75), (16, "HAProxy", 0.75)):
        if both_cpu(peer, p):
            checks.append((f"-P {p} proxy+Redis CPU/req vs {peer}", both_cpu(rsm, p) / both_cpu(peer, p), "≤", bound))
    for p, bound in ((1, 1.2), (16, 1.25)):
        checks.append((f"-P {p} proxy+Redis CPU/req vs direct", both_cpu(rsm, p) / both_cpu(direct, p), "≤", bound))
    if med("predixy", 1, 0):
        checks.append(("-P 1 requests/s vs predixy", med(rsm, 1, 0) / med("predixy", 1, 0), "≥", 0.95))
    if med("HAProxy", 16, 0):
        checks.append(("-P 16 requests/s vs HAProxy", med(rsm, 16, 0) / med("HAProxy", 16, 0), "≥", 1.1))
    for suffix in CLIENTS:
        if suffix and med(rsm + suffix, 1, 4):
            checks.append((f"-P 1 Redis CPU/req behind rsm vs direct{suffix}",
                           med(rsm + suffix, 1, 4) / med(direct + suffix, 1, 4), "≤", 0.5))
    lines = ["#### Targets (rsm's defaults, medians of this run)", "",
             "| target | measured | bound | met |", "|---|---|---|---|"]
    for what, value, op, bound in checks:
        ok = value <= bound if op == "≤" else value >= bound
        lines.append(f"| {what} | {value:.2f}x | {op} {bound}x | {'yes' if ok else '**no**'} |")
    return lines + [""]


def write_data(path, targets, results):
    """Per target: median, min and max of requests/s and of proxy CPU/req; one block (gnuplot's
    `index`) per pipeline depth, -P 1 first."""
    with open(path, "w") as f:
        f.write("# target\tP\trps\trps_min\trps_max\tcpu_us\tcpu_min\tcpu_max\n")
        for pipeline in (1, 16):
            for name in targets:
                rows = results[(name, pipeline)]
                rps, cpu = [r[0] for r in rows], [r[3] for r in rows]
                cpu_cols = "NaN\tNaN\tNaN" if name == "redis (direct)" else \
                    f"{statistics.median(cpu):.3f}\t{min(cpu):.3f}\t{max(cpu):.3f}"
                f.write(f'"{name}"\t{pipeline}\t{statistics.median(rps):.0f}\t{min(rps):.0f}\t{max(rps):.0f}\t'
                        f"{cpu_cols}\n")
            f.write("\n\n")

if __name__ == "__main__":
    main()
