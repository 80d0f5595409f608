#!/usr/bin/python3
"""Network partitions, measured: every redis, sentinel, proxy and client its own host.

Each run makes its own network: one namespace per host on a bridge (which lives in a namespace
of its own), addresses from the benchmarking range 198.18.0.0/15, nothing in the machine's own
namespace. Links are cut with iptables INPUT rules on both sides (a silent drop, as a real
partition: the sender sees timeouts, not errors), so every rule dies with its namespace.

  r1 .11  r2 .12  r3 .13   redis (r1 the master; min-replicas-to-write 1, max-lag 10 s, as
                           `rsm ctl --min-replicas-to-write 1` sets them)
  s1 .21  s2 .22  s3 .23   redis-sentinel (quorum 2, down-after 3 s)
  p  .31                   rsm proxy --fence-after 1s (:6379), rsm proxy with the defaults
                           (:6380), HAProxy with the usual role:master check (:6381; every
                           second, fall 1 rise 1, on-marked-down shutdown-sessions, as in
                           tests/bench/failover_bench.py)
  c  .41                   the clients: one writer per proxy, a SET every 10 ms each
  o  .51                   the observer (this script): polls the sentinels every 50 ms

Scenarios (one per run):
  master-isolated   (a) the master cut from the sentinels and the replicas; the proxy host
                        still reaches it
  minority-proxy    (b) the master and the proxy host on the minority side, cut from every
                        sentinel and replica
  sentinel-replica  (c) one sentinel and one replica cut from everything
  flapping          (d) the master's links flap: 1.2 s of 100 % loss, 1.8 s of 30 % loss,
                        for 21 s (tc netem delay on top where the kernel has netem; skipped
                        with a message where it has not)

After healing and the group settling, every acknowledged write is looked up on the final
master. Fails when, for the rsm proxy with --fence-after: a write acknowledged after a majority
of the sentinels named the new master is missing; in (b), a missing write was acknowledged more
than --fence-after + 0.1 s (the fence's timer) + 0.3 s (the cut's own spread, a reply in
flight) after the cut; it lost more than HAProxy. For the proxy with the defaults: the first
check in every scenario but (b), where without fencing nothing can stop it (that is what
--fence-after is for). And when a writer through rsm gets no acknowledgement within 15 s of
healing, or a proxy crashed.

  tests/partition/partition.py --rsm build/test/rsm --scenario minority-proxy [--json FILE]
  tests/partition/partition.py --rsm build/release/rsm --scenario all --doc docs/benchmarks.md

Needs root, `ip` and `iptables` (packaging/dev.sh installs it); without them it says why and
exits 77 (ctest: skipped). Bounded: a scenario takes 40-60 s; a guard process deletes every
namespace it made, also when this script is killed.
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import encode, read_reply, wait_until  # noqa: E402

SCENARIOS = ["master-isolated", "minority-proxy", "sentinel-replica", "flapping"]
SKIP = 77
NET = "198.18.0."
HOSTS = {"r1": 11, "r2": 12, "r3": 13, "s1": 21, "s2": 22, "s3": 23, "p": 31, "c": 41, "o": 51}
REDIS, SENTINELS = ["r1", "r2", "r3"], ["s1", "s2", "s3"]
MASTER_NAME = "mymaster"
DOWN_AFTER_MS = 3000
FENCE_AFTER = 1.0
TARGETS = [("rsm --fence-after 1s", 6379), ("rsm (defaults)", 6380), ("HAProxy", 6381)]
FENCED, DEFAULTS, HAPROXY = (t[0] for t in TARGETS)

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def ip_of(host):
    return NET + str(HOSTS[host])


def die_with_parent(sig=signal.SIGKILL):
    return lambda: _libc.prctl(1, sig)  # PR_SET_PDEATHSIG


class Net:
    """The namespaces, the bridge, the veth pairs; cut() and heal() by iptables."""

    def __init__(self, tag):
        self.tag = tag
        self.names = {h: f"{tag}-{h}" for h in HOSTS}
        self.switch = f"{tag}-sw"
        self.guard = None

    def ns(self, host):
        return self.names[host]

    def all_names(self):
        return [self.switch] + list(self.names.values())

    def up(self):
        # The guard: deletes every namespace of this run when this script dies, however.
        names = " ".join(self.all_names())
        script = (f"cleanup() {{ for n in {names}; do ip netns pids $n 2>/dev/null | grep -vx $PPID | xargs -r kill -9; "
                  f"ip netns del $n 2>/dev/null; done; exit 0; }}; trap cleanup TERM; "
                  f"while :; do sleep 5 & wait $!; done")
        self.guard = subprocess.Popen(["sh", "-c", script], preexec_fn=die_with_parent(signal.SIGTERM))
        run("ip", "netns", "add", self.switch)
        run("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", "br0", "up")
        for h, name in self.names.items():
            run("ip", "netns", "add", name)
            run("ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", f"v-{h}",
                "netns", self.switch)
            run("ip", "-n", self.switch, "link", "set", f"v-{h}", "master", "br0", "up")
            run("ip", "-n", name, "addr", "add", ip_of(h) + "/24", "dev", "eth0")
            run("ip", "-n", name, "link", "set", "eth0", "up")
            run("ip", "-n", name, "link", "set", "lo", "up")

    def down(self):
        leave()
        for n in self.all_names():
            pids = subprocess.run(["ip", "netns", "pids", n], capture_output=True, text=True).stdout.split()
            for pid in pids:
                if pid == str(os.getpid()):
                    continue
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)
        if self.guard is not None:
            self.guard.terminate()
            self.guard.wait()

    def rules(self, host, lines):
        """Replaces `host`'s INPUT rules (iptables-restore: one atomic swap)."""
        text = "*filter\n:INPUT ACCEPT [0:0]\n" + "".join(f"-A INPUT {ln}\n" for ln in lines) + "COMMIT\n"
        subprocess.run(["ip", "netns", "exec", self.ns(host), "iptables-restore"], input=text.encode(),
                       check=True)

    def cut(self, side_a, side_b):
        """Drops every packet between a host of side_a and one of side_b, both ways."""
        drops = {}
        for a in side_a:
            for b in side_b:
                drops.setdefault(a, []).append(f"-s {ip_of(b)}/32 -j DROP")
                drops.setdefault(b, []).append(f"-s {ip_of(a)}/32 -j DROP")
        for h, lines in drops.items():
            self.rules(h, lines)

    def heal(self):
        for h in HOSTS:
            self.rules(h, [])

    def spawn(self, host, argv, log):
        return subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + argv, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent())


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


_home = os.open("/proc/self/ns/net", os.O_RDONLY)  # the namespace this script started in


def leave():
    """Moves the calling thread back into the namespace the script started in."""
    if _libc.setns(_home, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def enter(ns):
    """Moves the calling thread into network namespace `ns` (sockets it opens are there)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


def call(host, port, *args, timeout=1.0):
    with socket.create_connection((ip_of(host) if host in HOSTS else host, port), timeout=timeout) as s:
        s.sendall(encode(args))
        return read_reply(s.makefile("rb"))


def leftovers():
    """Namespaces of earlier runs whose script is gone (killed before its guard could act)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith("rsmpt") and "-" in name:
            pid = name[5:].split("-")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


# --- the writers (in host c) and the observer (in host o) ------------------------------------

class Writer(threading.Thread):
    """SET pt:<n>:<i> i every 10 ms through one proxy, reconnecting after an error; keeps each
    acknowledged i with the time its +OK arrived, and the time of each error reply."""

    def __init__(self, net, n, name, port, stop):
        super().__init__(daemon=True)
        self.net, self.n, self.name, self.port, self.stop = net, n, name, port, stop
        self.acks, self.errors, self.disconnects, self.wrong = [], [], 0, []

    def run(self):
        enter(self.net.ns("c"))
        i = 0
        while not self.stop.is_set():
            try:
                s = socket.create_connection((ip_of("p"), self.port), timeout=1)
            except OSError:
                self.disconnects += 1
                time.sleep(0.1)
                continue
            s.settimeout(8)  # above --failover-hold (5 s)
            f = s.makefile("rb")
            try:
                while not self.stop.is_set():
                    i += 1
                    s.sendall(encode(["SET", f"pt:{self.n}:{i}", i]))
                    r = read_reply(f)
                    now = time.time()
                    if r == "+OK":
                        self.acks.append((i, now))
                    elif isinstance(r, str) and r.startswith("-"):
                        self.errors.append((now, r.split(" ")[0]))
                    else:
                        self.wrong.append(repr(r))
                    time.sleep(0.01)
            except (OSError, ConnectionError, ValueError):
                self.disconnects += 1
            finally:
                s.close()


class Observer(threading.Thread):
    """Polls every sentinel every 50 ms; notes when a majority first named another master."""

    def __init__(self, net, stop):
        super().__init__(daemon=True)
        self.net, self.stop = net, stop
        self.moved_at, self.moved_to = None, None
        self.views = {}

    def run(self):
        enter(self.net.ns("o"))
        while not self.stop.is_set():
            names = {}
            for s in SENTINELS:
                try:
                    a = call(s, 26379, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME, timeout=0.3)
                    names[s] = a[0] if isinstance(a, list) else None
                except (OSError, ConnectionError, ValueError):
                    names[s] = None
            self.views = names
            if self.moved_at is None:
                for addr in set(names.values()) - {None, ip_of("r1")}:
                    if sum(1 for v in names.values() if v == addr) >= 2:
                        self.moved_at, self.moved_to = time.time(), addr
            time.sleep(0.05)


# --- one run -----------------------------------------------------------------------------------

class Run:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.net = Net(f"rsmpt{os.getpid()}")
        self.procs = {}
        self.failures = []
        self.notes = []

    def check(self, ok, what):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)

    def start(self, host, name, argv):
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        self.procs[name] = self.net.spawn(host, argv, log)

    def conf(self, name, text):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"{name}.conf")
        with open(path, "w") as f:
            f.write(f"dir {d}\n" + text)
        return path

    def group(self):
        for h in REDIS:
            text = (f"bind {ip_of(h)}\nport 6379\nprotected-mode no\nsave \"\"\nappendonly no\n"
                    "min-replicas-to-write 1\nmin-replicas-max-lag 10\n")
            if h != "r1":
                text += f"replicaof {ip_of('r1')} 6379\n"
            self.start(h, h, ["redis-server", self.conf(h, text)])
        for h in SENTINELS:
            text = (f"bind {ip_of(h)}\nport 26379\nprotected-mode no\n"
                    f"sentinel monitor {MASTER_NAME} {ip_of('r1')} 6379 2\n"
                    f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                    f"sentinel failover-timeout {MASTER_NAME} 10000\n")
            self.start(h, h, ["redis-sentinel", self.conf(h, text)])
        sentinels = ",".join(f"{ip_of(s)}:26379" for s in SENTINELS)
        common = ["--sentinels", sentinels, "--master-name", MASTER_NAME, "--threads", "1"]
        self.start("p", "rsm-fenced", [self.args.rsm, "proxy", "--listen", f"{ip_of('p')}:6379",
                                       "--fence-after", f"{int(FENCE_AFTER * 1000)}ms"] + common)
        self.start("p", "rsm-defaults", [self.args.rsm, "proxy", "--listen", f"{ip_of('p')}:6380"] + common)
        servers = "".join(f"    server {h} {ip_of(h)}:6379 check inter 1s fall 1 rise 1 on-marked-down shutdown-sessions\n"
                          for h in REDIS)
        hap = os.path.join(self.tmp, "haproxy.cfg")
        with open(hap, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1h\n"
                    "    timeout server 1h\n"
                    f"frontend redis_in\n    bind {ip_of('p')}:6381\n    default_backend redis_master\n"
                    "backend redis_master\n    option tcp-check\n    tcp-check connect\n"
                    "    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n"
                    "    tcp-check send info\\ replication\\r\\n\n    tcp-check expect string role:master\n"
                    "    tcp-check send QUIT\\r\\n\n    tcp-check expect string +OK\n" + servers)
        self.start("p", "haproxy", ["haproxy", "-db", "-f", hap])

    def settled(self):
        """Every sentinel names one master, it says role:master, both replicas' links are up."""
        names = set()
        for s in SENTINELS:
            a = call(s, 26379, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
            names.add(a[0])
        if len(names) != 1:
            return None
        m = names.pop()
        host = next(h for h in REDIS if ip_of(h) == m)
        if "role:master" not in call(host, 6379, "INFO", "replication"):
            return None
        for h in REDIS:
            if h != host:
                info = call(h, 6379, "INFO", "replication")
                if f"master_host:{m}" not in info or "master_link_status:up" not in info:
                    return None
        for s in SENTINELS:
            d = call(s, 26379, "SENTINEL", "MASTER", MASTER_NAME)
            d = dict(zip(d[::2], d[1::2]))
            if int(d.get("num-slaves", 0)) < 2 or int(d.get("num-other-sentinels", 0)) < 2:
                return None
        return host

    def scenario(self, name, writers):
        """Cuts, holds, heals; returns (cut time, cut done, heal time)."""
        others = [h for h in HOSTS if h != "o"]
        if name == "master-isolated":
            t0 = time.time()
            self.net.cut(["r1"], SENTINELS + ["r2", "r3"])
            t1 = time.time()
            wait_until(lambda: self.observer.moved_at is not None, 20, 0.05)
            time.sleep(4)  # the proxies act on the move; the old master still takes writes
        elif name == "minority-proxy":
            t0 = time.time()
            self.net.cut(["r1", "p"], SENTINELS + ["r2", "r3"])
            t1 = time.time()
            # Long enough for min-replicas-max-lag (10 s) to stop the old master.
            time.sleep(14)
        elif name == "sentinel-replica":
            t0 = time.time()
            self.net.cut(["s3", "r3"], [h for h in others if h not in ("s3", "r3")])
            t1 = time.time()
            time.sleep(3 * DOWN_AFTER_MS / 1000)  # long enough for a wrong failover to show
        else:  # flapping
            if self.netem():
                self.notes.append("netem delay 20 ms +- 10 ms on the master's link throughout")
            else:
                self.notes.append("tc netem is not available in this kernel: no delay, "
                                  "loss and flaps only (iptables)")
                print("  netem: not available in this kernel; the delay part is skipped (loss and "
                      "flaps by iptables)")
            t0 = time.time()
            t1 = t0
            peers = [h for h in others if h != "r1"]
            for _ in range(7):
                self.net.cut(["r1"], peers)
                time.sleep(1.2)
                self.lossy(peers, 0.3)
                time.sleep(1.8)
        th = time.time()
        self.net.heal()
        return t0, t1, th

    def netem(self):
        r = subprocess.run(["ip", "netns", "exec", self.net.ns("r1"), "tc", "qdisc", "add", "dev", "eth0",
                            "root", "netem", "delay", "20ms", "10ms"], capture_output=True)
        return r.returncode == 0

    def lossy(self, peers, p):
        """Random loss `p` on every packet between r1 and peers, both ways."""
        self.net.rules("r1", [f"-m statistic --mode random --probability {p} -j DROP"])
        for h in peers:
            self.net.rules(h, [f"-s {ip_of('r1')}/32 -m statistic --mode random --probability {p} -j DROP"])

    def main(self, name):
        self.net.up()
        enter(self.net.ns("o"))  # this thread is the observer host from here on
        self.group()
        for h in REDIS:
            assert wait_until(lambda: call(h, 6379, "PING") == "+PONG", 10), f"{h} does not answer"
        ok = wait_until(lambda: self.settled() == "r1", 30, 0.1)
        assert ok, "the group did not form (replicas synced, sentinels know each other)"
        for _, port in TARGETS:
            assert wait_until(lambda: call("p", port, "SET", "pt:probe", 1) == "+OK", 15), \
                f"the proxy on :{port} does not take writes"
        stop, watch_stop = threading.Event(), threading.Event()
        self.observer = Observer(self.net, watch_stop)
        self.observer.start()
        writers = [Writer(self.net, n, t, port, stop) for n, (t, port) in enumerate(TARGETS)]
        for w in writers:
            w.start()
        assert wait_until(lambda: all(w.acks for w in writers), 10), "the writers got no acknowledgement"
        time.sleep(2)
        print(f"scenario {name}:")
        t0, t1, th = self.scenario(name, writers)
        print(f"  cut at 0.00 s (rules in place after {t1 - t0:.2f} s), healed at {th - t0:.2f} s")
        # Every rsm writer writes again soon after healing.
        resumed = wait_until(lambda: all(w.acks and w.acks[-1][1] > th for w in writers[:2]), 15, 0.05)
        self.check(resumed, "every writer through rsm is acknowledged again within 15 s of healing")
        final = None
        deadline = time.time() + 40
        while time.time() < deadline and final is None:
            try:
                final = self.settled()
            except (OSError, ConnectionError, ValueError):
                pass
            time.sleep(0.1)
        time.sleep(1)
        stop.set()
        for w in writers:
            w.join(10)
        watch_stop.set()
        self.observer.join(5)
        self.check(final is not None, f"the group settled after healing (master {final})")
        moved = self.observer.moved_at
        if moved:
            print(f"  a majority of the sentinels named {self.observer.moved_to} at {moved - t0:.2f} s")
        else:
            print("  the sentinels never moved the master")
        results = {"scenario": name, "moved_at": None if moved is None else round(moved - t0, 2),
                   "healed_at": round(th - t0, 2), "notes": self.notes, "targets": {}}
        for w in writers:
            results["targets"][w.name] = self.count(w, final, t0, th, moved)
        self.judge(name, results, t1 - t0)
        for p, proc in self.procs.items():
            if p.startswith("rsm") or p == "haproxy":
                self.check(proc.poll() is None, f"{p} is running (no crash)")
        return results

    def count(self, w, final, t0, th, moved):
        lost = []
        if final:
            acked = w.acks
            for k in range(0, len(acked), 500):
                batch = acked[k:k + 500]
                vals = call(final, 6379, "MGET", *[f"pt:{w.n}:{i}" for i, _ in batch], timeout=5)
                lost += [(i, t) for (i, t), v in zip(batch, vals) if v != str(i)]
        during = [t for t, _ in w.errors if t0 <= t <= th]
        kinds = {}
        for _, k in w.errors:
            kinds[k] = kinds.get(k, 0) + 1
        fenced = [t for t, k in w.errors if k == "-FENCED" and t >= t0]
        after_move = [i for i, t in lost if moved and t > moved]
        times = [t0] + [t for _, t in w.acks if t > t0]
        gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
        r = {"acked": len(w.acks), "lost": len(lost), "lost_after_move": len(after_move),
             "last_lost_at": round(max(t for _, t in lost) - t0, 2) if lost else None,
             "errors_during": len(during), "error_kinds": kinds, "disconnects": w.disconnects,
             "first_fenced_at": round(fenced[0] - t0, 2) if fenced else None,
             "longest_gap": round(gap, 2), "wrong": len(w.wrong)}
        if after_move:
            late = [(i, round(t - t0, 2)) for i, t in lost if moved and t > moved][:5]
            print(f"  {w.name}: lost after the move (i, s after the cut): {late}")
        print(f"  {w.name:<22} acked {r['acked']:>5}  lost {r['lost']:>4} (after the move {r['lost_after_move']})"
              f"  last lost at {r['last_lost_at']} s  errors {sum(kinds.values())} {kinds}"
              f"  disconnects {w.disconnects}  longest gap {gap:.2f} s")
        return r

    def judge(self, name, results, spread):
        t = results["targets"]
        for n in t:
            self.check(t[n]["wrong"] == 0, f"{n}: every reply is +OK or an error ({t[n]['wrong']} others)")
        f, d, h = t[FENCED], t[DEFAULTS], t[HAPROXY]
        self.check(f["lost_after_move"] == 0,
                   f"{FENCED}: no write acknowledged after a majority of the sentinels moved is lost "
                   f"({f['lost_after_move']})")
        if results["moved_at"] is None:
            self.check(f["lost"] == 0, f"{FENCED}: no failover, no acknowledged write lost ({f['lost']})")
        if name != "minority-proxy":
            self.check(d["lost_after_move"] == 0,
                       f"{DEFAULTS}: no write acknowledged after a majority of the sentinels moved is lost "
                       f"({d['lost_after_move']})")
        else:
            bound = FENCE_AFTER + 0.1 + 0.3 + spread
            last = f["last_lost_at"]
            self.check(last is None or last <= bound,
                       f"{FENCED}: what it lost was acknowledged within {bound:.2f} s of the cut "
                       f"(--fence-after + 0.1 s timer + 0.3 s slack + the cut's spread; last at {last} s)")
            results["fence_bound"] = round(bound, 2)
        self.check(f["lost"] <= h["lost"], f"{FENCED} loses no more than HAProxy ({f['lost']} vs {h['lost']})")

    def tails(self):
        for name in self.procs:
            path = os.path.join(self.tmp, f"{name}.log")
            try:
                lines = open(path, errors="replace").read().splitlines()[-15:]
            except OSError:
                continue
            print(f"--- {name} (last lines)")
            for ln in lines:
                print("    " + ln)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.net.down()


def preflight():
    if os.geteuid() != 0:
        return "not root: network namespaces cannot be made"
    for tool in ("ip", "iptables-restore", "redis-server", "redis-sentinel", "haproxy"):
        if not shutil.which(tool):
            return f"{tool} is not installed (packaging/dev.sh test installs it)"
    name = f"rsmpt{os.getpid()}-probe"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"network namespaces cannot be made here: {r.stderr.strip()}"
    r = subprocess.run(["ip", "netns", "exec", name, "iptables-restore"], input=b"*filter\nCOMMIT\n",
                       capture_output=True)
    subprocess.run(["ip", "netns", "del", name])
    if r.returncode != 0:
        return f"iptables does not work in a namespace here: {r.stderr.decode().strip()}"
    return None


def run_all(args):
    """Every scenario in a process of its own; the table of what each target lost."""
    out = tempfile.mktemp(prefix="partition-", suffix=".json")
    rc = 0
    for name in SCENARIOS:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--rsm", args.rsm, "--scenario", name,
                            "--json", out])
        if r.returncode == SKIP:
            return SKIP
        rc = rc or r.returncode
    rows = [json.loads(line) for line in open(out)] if os.path.exists(out) else []
    os.unlink(out) if os.path.exists(out) else None
    label = {"master-isolated": "(a) master cut from sentinels and replicas",
             "minority-proxy": "(b) proxy and master on the minority side",
             "sentinel-replica": "(c) one sentinel and one replica cut",
             "flapping": "(d) the master's links flap"}
    lines = ["One run per scenario; times in seconds after the cut. Writer: `SET pt:i i` every 10 ms "
             "per target, one connection each, all three at once through the same partition.", "",
             "| scenario | majority of sentinels moved | target | acked | lost | lost, acked after the move "
             "| last lost acked at | longest gap between acks | first -FENCED |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        moved = "never" if row["moved_at"] is None else f"{row['moved_at']:.2f}"
        for t, v in row["targets"].items():
            last = "–" if v["last_lost_at"] is None else f"{v['last_lost_at']:.2f}"
            fenced = "–" if v["first_fenced_at"] is None else f"{v['first_fenced_at']:.2f}"
            lines.append(f"| {label[row['scenario']]} | {moved} | {t} | {v['acked']} | {v['lost']} "
                         f"| {v['lost_after_move']} | {last} | {v['longest_gap']:.2f} | {fenced} |")
    notes = sorted({n for row in rows for n in row["notes"]})
    if notes:
        lines += [""] + [f"Note: {n}." for n in notes]
    table = "\n".join(lines)
    print(table)
    if args.doc:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
        from bench_common import write_between_markers
        write_between_markers(args.doc, "partition-bench", table)
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--scenario", choices=SCENARIOS + ["all"], required=True)
    ap.add_argument("--json", help="append this run's figures to FILE (one JSON object per line)")
    ap.add_argument("--doc", help="with --scenario all: write the table into this markdown file "
                                  "(between <!-- partition-bench:begin/end -->)")
    args = ap.parse_args()
    args.rsm = os.path.abspath(args.rsm)
    if args.scenario == "all":
        return run_all(args)
    why = preflight()
    if why:
        print(f"partition suite skipped: {why}")
        return SKIP
    leftovers()
    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="partition-", dir=root)
    r = Run(args, tmp)
    started = time.time()
    results = None
    try:
        results = r.main(args.scenario)
    except BaseException as e:
        r.failures.append(f"{type(e).__name__}: {e}")
        print(f"  FAIL {type(e).__name__}: {e}")
    finally:
        if r.failures:
            r.tails()
        r.stop()
    if results and args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(results) + "\n")
    print(f"  {time.time() - started:.0f} s; {'FAILED: ' + '; '.join(r.failures) if r.failures else 'passed'}")
    if not r.failures:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
