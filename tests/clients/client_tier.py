#!/usr/bin/env python3
"""The client tier: real client libraries, each with its default connect handshake, through
rsm proxy in front of a real group (a master, 2 replicas, 3 sentinels, the lainlet emulator).

  tests/clients/client_tier.py --rsm build/test/rsm --node-dir build/test/clients

1. The newest ioredis and node-redis from npm (installed into --node-dir when missing: both
   send HELLO 3 and CLIENT SETINFO on connect, node-redis also CLIENT MAINT_NOTIFICATIONS),
   node-redis also in RESP2, and Debian's python3-redis (older: no handshake): 50 connections
   of stateless work. The proxy's metrics must show no pinned session, and Redis a few
   connections per proxy thread (one per protocol in use), never one per client.
2. `redis-benchmark -3` (HELLO 3 on every connection), bounded in requests: no session pinned.
3. `SENTINEL FAILOVER` under the clients: no client sees its connection closed or reconnects,
   no reply goes to the wrong request, and the only errors are the documented "may or may not
   have run" of requests in flight at the switch. The clients then work on the new master,
   still through a few shared connections.
"""
import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import redis_group as rg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = 2
IN_FLIGHT = "may or may not have run"


def ensure_node_clients(node_dir):
    """The newest ioredis and redis (node-redis) from npm, once per build directory."""
    mods = os.path.join(node_dir, "node_modules")
    if all(os.path.isdir(os.path.join(mods, m)) for m in ("ioredis", "redis")):
        return mods
    os.makedirs(node_dir, exist_ok=True)
    print(f"installing ioredis and redis from npm into {node_dir}", flush=True)
    subprocess.run(["npm", "install", "--prefix", node_dir, "--no-audit", "--no-fund",
                    "--no-save", "--loglevel", "error", "ioredis@latest", "redis@latest"],
                   check=True, timeout=600)
    return mods


class Check:
    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
        print(f"  {'ok  ' if cond else 'FAIL'} {what}", flush=True)


class Proxy:
    def __init__(self, rsm, lainlet_port, tmp):
        self.port, self.metrics_port = rg.free_port(), rg.free_port()
        self.log_path = os.path.join(tmp, "proxy.log")
        self.proc = rg.spawn([rsm, "proxy", "--listen", f"127.0.0.1:{self.port}",
                              "--lainlet", f"127.0.0.1:{lainlet_port}", "--app", "clients",
                              "--master-name", rg.MASTER, "--threads", str(THREADS),
                              "--metrics-listen", f"127.0.0.1:{self.metrics_port}"],
                             stderr=open(self.log_path, "ab"))
        assert rg.wait_until(lambda: rg.command(self.port, "PING") == "+PONG", 20), \
            "the proxy did not start: " + self.log_tail()

    def metrics(self):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=2).read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split()[:2]
                out[name] = float(value)
        return out

    def log_tail(self, n=20):
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")


def redis_clients(port):
    """Client connections at a redis node, but sentinels' and replicas' (CLIENT LIST)."""
    text = rg.command(port, "CLIENT", "LIST", timeout=5)
    lines = [line for line in text.splitlines() if line]
    # Sentinels name their connections sentinel-<id>-cmd/-pubsub; replicas have flags=S; the
    # CLIENT LIST connection itself is this script's.
    return [line for line in lines
            if " name=sentinel-" not in line and " flags=S " not in line and " cmd=client|list " not in line]


class NodeClients:
    """node_clients.mjs in a child process, talking JSON lines."""

    def __init__(self, mods, port, counts):
        env = dict(os.environ, RSM_NODE_MODULES=mods)
        argv = ["node", os.path.join(HERE, "node_clients.mjs"), "--port", str(port)]
        for k, v in counts.items():
            argv += ["--" + k, str(v)]
        self.proc = rg.spawn(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=None, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next(self, timeout=30):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise RuntimeError(f"node_clients.mjs ended (exit {self.proc.wait()})")
        return json.loads(line)

    def ask(self, what):
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return self.next()


class PyClients:
    """Debian's redis-py (no connect handshake): one connection per thread, stateless work."""

    def __init__(self, port, n):
        try:
            import redis
        except ImportError:  # a python3 other than Debian's (pyenv): Debian's package
            sys.path.append("/usr/lib/python3/dist-packages")
            import redis
        self.stop_ = threading.Event()
        self.ok, self.errors, self.mismatches = 0, {}, 0
        self.lock = threading.Lock()
        self.clients = [redis.Redis(host="127.0.0.1", port=port, socket_timeout=15) for _ in range(n)]
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(n)]
        for t in self.threads:
            t.start()

    def _work(self, i):
        c = self.clients[i]
        n = 0
        while not self.stop_.is_set():
            try:
                c.set(f"ct:py:{i}", n)
                if c.get(f"ct:py:{i}") != str(n).encode():
                    with self.lock:
                        self.mismatches += 1
                with self.lock:
                    self.ok += 2
            except Exception as e:  # noqa: BLE001 - every error is counted by its text
                with self.lock:
                    m = str(e)[:200]
                    self.errors[m] = self.errors.get(m, 0) + 1
            n += 1
            time.sleep(0.01)

    def stop(self):
        self.stop_.set()
        for t in self.threads:
            t.join(20)


def documented(errors):
    return {m: n for m, n in errors.items() if IN_FLIGHT not in m}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--node-dir", required=True, help="where ioredis and redis are (or get) installed")
    args = ap.parse_args()
    mods = ensure_node_clients(os.path.abspath(args.node_dir))
    check = Check()
    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rsm-clients-", dir=root) as tmp:
        group = rg.Group(tmp)
        lainlet = proxy = node = py = None
        try:
            lainlet = rg.Lainlet(os.path.abspath(args.rsm), tmp, group.procwatcher_json())
            proxy = Proxy(os.path.abspath(args.rsm), lainlet.port, tmp)
            old = group.master_port()

            print("50 connections: ioredis, node-redis (RESP3 by default, and RESP2), redis-py")
            node = NodeClients(mods, proxy.port, {"ioredis": 20, "node-redis": 15, "node-redis-resp2": 10})
            ready = node.next(60)
            print(f"  ioredis {ready['versions']['ioredis']}, node-redis {ready['versions']['redis']}")
            py = PyClients(proxy.port, 5)
            rg.wait_until(lambda: py.ok >= 10, 10)
            m = proxy.metrics()
            check(m["rsm_proxy_clients"] >= 50, f"the proxy has the 50 clients ({m['rsm_proxy_clients']:.0f})")
            check(m["rsm_proxy_pinned_clients"] == 0 and m["rsm_proxy_pinned_total"] == 0,
                  f"no session pinned ({m['rsm_proxy_pinned_total']:.0f})")
            at_redis = redis_clients(old)
            # One shared connection per thread and protocol, and the tracker's.
            check(len(at_redis) <= 2 * THREADS + 2,
                  f"Redis sees {len(at_redis)} client connections, at most {2 * THREADS + 2}")
            check(m["rsm_proxy_shared_lanes"] <= 2 * THREADS,
                  f"shared connections {m['rsm_proxy_shared_lanes']:.0f} (a RESP2 and a RESP3 one per thread)")

            print("redis-benchmark -3 (HELLO 3 on each of its 20 connections), 20000 requests")
            before = proxy.metrics()
            r = subprocess.run(["redis-benchmark", "-3", "-p", str(proxy.port), "-c", "20", "-n", "20000",
                                "-t", "set,get", "-q", "-r", "1000"], capture_output=True, text=True, timeout=120)
            check(r.returncode == 0 and "requests per second" in r.stdout,
                  "redis-benchmark -3 ran: " + " | ".join(l.split("\r")[-1].strip() for l in r.stdout.strip().splitlines()[-2:]))
            m = proxy.metrics()
            check(m["rsm_proxy_pinned_total"] == 0, "no redis-benchmark session pinned")
            check(m["rsm_proxy_backend_connects_total"] == before["rsm_proxy_backend_connects_total"],
                  "no backend connection opened for them")

            print("SENTINEL FAILOVER under the clients")
            changes = m.get("rsm_proxy_master_changes_total", 0)
            reply = rg.command(group.sentinels[0].port, "SENTINEL", "FAILOVER", rg.MASTER)
            check(reply == "+OK", f"SENTINEL FAILOVER: {reply}")
            check(rg.wait_until(lambda: group.master_port() not in (None, old), 30), "the sentinels switched")
            check(rg.wait_until(lambda: proxy.metrics().get("rsm_proxy_master_changes_total", 0) > changes, 30),
                  "the proxy followed")
            after_switch = node.ask("stats")["ok"]
            py_after = py.ok
            check(rg.wait_until(lambda: node.ask("stats")["ok"] > after_switch + 500 and py.ok > py_after + 50, 30),
                  "the clients work on the new master")
            time.sleep(1)  # a second more of work on the new master, for the counts below
            stats = node.ask("stop")
            py.stop()
            print(f"  node clients: {stats}")
            print(f"  redis-py: ok {py.ok}, errors {py.errors}")
            check(stats["reconnects"] == 0 and stats["closes"] == 0,
                  f"no node client reconnected or was closed ({stats['reconnects']}, {stats['closes']})")
            check(not documented(stats["errors"]) and not documented(py.errors),
                  "the only errors are the documented in-flight ones")
            check(stats["mismatches"] == 0 and py.mismatches == 0,
                  "every GET read what its client last SET (no reply misrouted, no acknowledged write lost)")
            m = proxy.metrics()
            check(m["rsm_proxy_pinned_total"] == 0, "still no session pinned")
            check(m.get("rsm_proxy_sessions_closed_on_switch_total", 0) == 0, "no session closed on the switch")
            new = group.master_port()
            at_new = redis_clients(new)
            check(len(at_new) <= 2 * THREADS + 2, f"the new master sees {len(at_new)} client connections")
            check(proxy.proc.poll() is None, "the proxy is running")
        finally:
            if py is not None:
                py.stop()
            if node is not None and node.proc.poll() is None:
                node.proc.kill()
            for p in (proxy,):
                if p is not None:
                    rg.terminate(p.proc)
            if lainlet is not None:
                lainlet.stop()
            group.stop()
            if check.failures and proxy is not None:
                print("proxy log:\n" + proxy.log_tail())
    print(f"client tier: {len(check.failures)} failed")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
