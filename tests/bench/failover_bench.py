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
import sys
import tempfile
import threading
import time

from bench_common import haproxy_config, spread, write_between_markers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import MASTER, Group, command, encode, free_port, read_reply, spawn, terminate, wait_until  # noqa: E402


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
                "--sentinels", ",".join(f"127.0.0.1:{s.port}" for s in group.sentinels), "--log-level", "warn"]
    else:
        conf = os.path.join(tmp, f"haproxy-{port}.cfg")
        with open(conf, "w") as f:
            f.write(haproxy_config(port, [r.port for r in group.redis],
                                   "check inter 1s fall 1 rise 1 on-marked-down shutdown-sessions"))
        argv = ["haproxy", "-db", "-f", conf]
    p = spawn(argv)
    assert wait_until(lambda: command(port, "SET", "ready", "1") == "+OK", 15), f"{name} did not start"
    return p, port


def one_run(target, scenario, rsm):
    tmp = tempfile.mkdtemp(prefix="rsm-failover-")
    group = Group(tmp)
    proc = None
    try:
        proc, port = start_target(target, rsm, group, tmp)
        events = {}
        watchers = [threading.Thread(target=switch_watcher, args=(s.port, events), daemon=True) for s in group.sentinels]
        for w in watchers:
            w.start()
        stop = threading.Event()
        writer = Writer(port, stop)
        writer.start()
        time.sleep(1.0)
        old = group.redis[0].proc
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
        final = group.master_port()
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
            terminate(proc)
        group.stop()
        shutil.rmtree(tmp, ignore_errors=True)




def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", default="build/release/rsm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", metavar="FILE", help="also put the table into FILE, between its failover-bench markers")
    ap.add_argument("--data", metavar="DIR", help="also write failover-bench.tsv (for tests/bench/plots.gp) into DIR")
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
    if args.data:
        with open(os.path.join(args.data, "failover-bench.tsv"), "w") as f:
            f.write("# target\tscenario\tunavailable_ms\tmin\tmax\tlost_after_switch\n")
            for scenario in ("kill -9", "sigstop"):
                for target in targets:
                    v = [r["unavailable_ms"] for r in results[(target, scenario)]]
                    lost = [r["lost_after_switch"] for r in results[(target, scenario)]]
                    f.write(f'"{target}"\t"{scenario}"\t{statistics.median(v):.0f}\t{min(v):.0f}\t{max(v):.0f}\t'
                            f"{statistics.median(lost):.0f}\n")
                f.write("\n\n")  # one block (gnuplot's `index`) per scenario

if __name__ == "__main__":
    main()
