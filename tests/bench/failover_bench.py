#!/usr/bin/python3
"""Failover through rsm proxy and through HAProxy's role:master check, measured.

For each target and scenario, a fresh group on loopback: a master, 2 replicas, 3 sentinels
(down-after-milliseconds 1000, failover-timeout 5000). A writer sends SET k:i i every 5 ms
through the target (one connection, reconnecting after an error or a 500 ms timeout). Then:

  kill -9   the master is killed;
  sigstop   the master is SIGSTOPped past down-after, and SIGCONTed 2 s after the switch (it
            wakes up believing it is master until Sentinel demotes it).

It prints, per target and scenario, the median (min–max) over the runs of:
  unavailability   the longest gap between two acknowledged writes (ms);
  switch→write     from the sentinels' +switch-master to the first acknowledged write that
                   the new master kept (ms);
  lost             acknowledged writes missing from the final master;
  lost after switch  of those, acknowledged after +switch-master (the demoted master's).

  tests/bench/failover_bench.py [--rsm build/release/rsm] [--runs 3] [--write docs/benchmarks.md]

Bounded: every run lasts a fixed time; everything it starts is stopped.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_common import free_port, haproxy_config, spread, write_between_markers

MASTER = "mymaster"




def command(port, *args, timeout=2.0):
    """One command on a new connection; the raw reply line(s) as bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(args))
        return read_reply(s.makefile("rb"))


def encode(args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t in (b"+", b"-", b":"):
        return line[:-2].decode()
    if t == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError(f"bad reply {line!r}")


def wait_until(cond, timeout, step=0.02):
    until = time.time() + timeout
    while time.time() < until:
        try:
            if cond():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


class Group:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}
        try:
            self.start_all(tmp)
        except BaseException:
            self.stop()  # leave nothing behind when one of them does not start
            raise

    def start_all(self, tmp):
        self.redis = [free_port() for _ in range(3)]
        self.sentinels = [free_port() for _ in range(3)]
        for i, port in enumerate(self.redis):
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", tmp]
            if i > 0:
                argv += ["--replicaof", "127.0.0.1", str(self.redis[0])]
            self.procs[port] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in self.redis:
            assert wait_until(lambda: command(port, "PING") == "+PONG", 10), "redis did not start"
        assert wait_until(lambda: all("master_link_status:up" in command(p, "INFO", "replication")
                                      for p in self.redis[1:]), 15), "replicas did not sync"
        for port in self.sentinels:
            conf = os.path.join(tmp, f"sentinel-{port}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
                        f"sentinel monitor {MASTER} 127.0.0.1 {self.redis[0]} 2\n"
                        f"sentinel down-after-milliseconds {MASTER} 1000\n"
                        f"sentinel failover-timeout {MASTER} 5000\n")
            self.procs[port] = subprocess.Popen(["redis-sentinel", conf], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
        # Every sentinel knows the replicas and the other sentinels.
        assert wait_until(lambda: all(self.sentinel_knows(p) for p in self.sentinels), 20), "sentinels not ready"

    def sentinel_knows(self, port):
        m = command(port, "SENTINEL", "MASTER", MASTER)
        d = dict(zip(m[::2], m[1::2]))
        return int(d.get("num-slaves", 0)) == 2 and int(d.get("num-other-sentinels", 0)) == 2

    def master(self):
        for p in self.sentinels:
            try:
                a = command(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
                if a:
                    return int(a[1])
            except OSError:
                continue
        return None

    def stop(self):
        for p in self.procs.values():
            try:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def switch_watcher(port, out):
    """Records the time of the first +switch-master on one sentinel."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(encode(["SUBSCRIBE", "+switch-master"]))
            f = s.makefile("rb")
            read_reply(f)
            while True:
                msg = read_reply(f)
                if isinstance(msg, list) and msg[0] == "message" and msg[2].startswith(MASTER + " "):
                    out.setdefault("switch", time.time())
                    return
    except OSError:
        pass


class Writer(threading.Thread):
    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop_event = port, stop
        self.acks = []  # (i, time acknowledged)

    def run(self):
        i = 0
        sock = f = None
        while not self.stop_event.is_set():
            if sock is None:
                try:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                    f = sock.makefile("rb")
                except OSError:
                    sock = None
                    time.sleep(0.005)
                    continue
            i += 1
            try:
                sock.sendall(encode(["SET", f"k:{i}", i]))
                if read_reply(f) == "+OK":
                    self.acks.append((i, time.time()))
            except (OSError, ValueError, ConnectionError):
                sock.close()
                sock = None
            time.sleep(0.005)
        if sock:
            sock.close()


def start_target(name, rsm, group, tmp):
    port = free_port()
    if name == "rsm":
        argv = [rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master-name", MASTER, "--threads", "2",
                "--sentinels", ",".join(f"127.0.0.1:{p}" for p in group.sentinels), "--log-level", "warn"]
    else:
        conf = os.path.join(tmp, f"haproxy-{port}.cfg")
        with open(conf, "w") as f:
            f.write(haproxy_config(port, group.redis,
                                   "check inter 1s fall 1 rise 1 on-marked-down shutdown-sessions"))
        argv = ["haproxy", "-db", "-f", conf]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_until(lambda: command(port, "SET", "ready", "1") == "+OK", 15), f"{name} did not start"
    return p, port


def one_run(target, scenario, rsm):
    tmp = tempfile.mkdtemp(prefix="rsm-failover-")
    group = Group(tmp)
    proc = None
    try:
        proc, port = start_target(target, rsm, group, tmp)
        events = {}
        watchers = [threading.Thread(target=switch_watcher, args=(p, events), daemon=True) for p in group.sentinels]
        for w in watchers:
            w.start()
        stop = threading.Event()
        writer = Writer(port, stop)
        writer.start()
        time.sleep(1.0)
        old = group.procs[group.redis[0]]
        events["fault"] = time.time()
        old.send_signal(signal.SIGKILL if scenario == "kill -9" else signal.SIGSTOP)
        wait_until(lambda: "switch" in events, 30, 0.01)
        if scenario == "sigstop":
            time.sleep(2.0)
            old.send_signal(signal.SIGCONT)
            time.sleep(4.0)  # it wakes up as master until Sentinel demotes it
        else:
            time.sleep(3.0)
        stop.set()
        writer.join(5)
        final = group.master()
        acked = writer.acks
        kept = set()
        keys = [i for i, _ in acked]
        for k in range(0, len(keys), 500):
            batch = keys[k:k + 500]
            vals = command(final, "MGET", *[f"k:{i}" for i in batch], timeout=5)
            kept.update(i for i, v in zip(batch, vals) if v is not None)
        switch = events.get("switch", float("inf"))
        times = [events["fault"]] + [t for _, t in acked if t > events["fault"]]
        gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
        lost = [(i, t) for i, t in acked if i not in kept]
        first_new = min((t for i, t in acked if t > switch and i in kept), default=None)
        return {
            "unavailable_ms": gap * 1000,
            "switch_to_write_ms": (first_new - switch) * 1000 if first_new else float("nan"),
            "lost": len(lost),
            "lost_after_switch": sum(1 for _, t in lost if t > switch),
            "switched": switch != float("inf"),
        }
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        group.stop()
        shutil.rmtree(tmp, ignore_errors=True)




def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", default="build/release/rsm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", metavar="FILE", help="also put the table into FILE, between its failover-bench markers")
    args = ap.parse_args()
    rsm = os.path.abspath(args.rsm)
    targets = ["rsm"] + (["HAProxy"] if shutil.which("haproxy") else [])
    results = {}
    for run in range(args.runs):
        for scenario in ("kill -9", "sigstop"):
            for target in targets:
                r = one_run(target, scenario, rsm)
                results.setdefault((target, scenario), []).append(r)
                print(f"run {run + 1}: {target} {scenario}: {r}", file=sys.stderr)
    lines = [f"{args.runs} runs per row; median (min–max). Writer: SET k:i every 5 ms on one connection.", "",
             "| target | scenario | unavailability ms | +switch-master → first kept write ms | acked writes lost | of those, acked after the switch |",
             "|---|---|---|---|---|---|"]
    for scenario in ("kill -9", "sigstop"):
        for target in targets:
            rs = results[(target, scenario)]
            col = lambda k: [r[k] for r in rs]
            lines.append(f"| {target} | {scenario} | {spread(col('unavailable_ms'), lambda v: f'{v:.0f}')} | "
                         f"{spread(col('switch_to_write_ms'), lambda v: f'{v:.0f}')} | "
                         f"{spread(col('lost'), lambda v: f'{v:.0f}')} | {spread(col('lost_after_switch'), lambda v: f'{v:.0f}')} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_between_markers(args.write, "failover-bench", text)

if __name__ == "__main__":
    main()
