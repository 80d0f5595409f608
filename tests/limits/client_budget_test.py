#!/usr/bin/python3
"""The proxy's client budgets against a real redis-server: --maxmemory-clients and
--partial-request-timeout.

  - 24 clients each send 700 KB of one request and stop (held whole: under the 1 MiB a
    request streams past): together 16 MB against an 8 MB budget. The largest are closed
    until the clients hold less than the budget; the memory gauge says so; a client that
    sends whole requests keeps working throughout and is never closed;
  - a client that sends part of a request and not the rest is closed after
    --partial-request-timeout (counted), one that sends whole requests slowly is not.

  tests/limits/client_budget_test.py --rsm build/test/rsm
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import encode, free_port, spawn, terminate, wait_until  # noqa: E402

BUDGET = 8 * 1024 * 1024


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def closed(sock):
    """True once the peer closed `sock` (EOF or reset), without blocking."""
    sock.setblocking(False)
    try:
        return sock.recv(1 << 16) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def ping(port):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(encode(["PING"]))
        return s.recv(64) == b"+PONG\r\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    args = ap.parse_args()
    if not shutil.which("redis-server"):
        print("skipped: redis-server is not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="rsm-budget-")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    redis_port, port, mport = free_port(), free_port(), free_port()
    redis = spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                   "--save", "", "--dir", tmp])
    log_path = os.path.join(tmp, "proxy.log")
    proxy = spawn([args.rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master",
                   f"127.0.0.1:{redis_port}", "--maxmemory-clients", "8mb",
                   "--partial-request-timeout", "2s", "--metrics-listen", f"127.0.0.1:{mport}"],
                  stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    held = []
    try:
        assert wait_until(lambda: ping(port), 20), "the proxy did not serve"
        check(metrics(mport).get("rsm_proxy_maxmemory_clients_bytes") == BUDGET,
              "the budget is exported")

        # 1. Part of a request, then nothing: closed after the deadline; a client that sends
        # whole requests slowly meanwhile is not.
        slow_loris = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow_loris.sendall(b"*2\r\n$3\r\nGET\r\n$5\r\nab")
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        started = time.time()
        ok = True
        while time.time() - started < 3.5:
            slow.sendall(encode(["PING"]))
            ok = ok and slow.recv(64) == b"+PONG\r\n"
            time.sleep(0.5)
        check(ok, "a client sending whole requests slowly is served")
        check(wait_until(lambda: closed(slow_loris), 3), "a partial request is closed after 2 s")
        check(time.time() - started >= 1.9, "not before the deadline")
        check(not closed(slow), "the slow but whole client stays")
        check(metrics(mport).get("rsm_proxy_partial_request_timeouts_total", 0) >= 1,
              "the partial-request close is counted")
        slow_loris.close()

        # 2. 24 clients holding 700 KB of a request each: the largest are closed until the
        # clients hold less than the budget; a client sending whole requests is never touched.
        body = b"x" * 700_000
        frame = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (len(body) + 10)
        for _ in range(24):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(frame + body)  # 10 bytes short of the whole request
            held.append(s)
        watcher = socket.create_connection(("127.0.0.1", port), timeout=5)

        def evicted():
            return metrics(mport).get("rsm_proxy_clients_evicted_total", 0) >= 1
        check(wait_until(evicted, 10), "clients past the budget are evicted")

        def under_budget():
            return metrics(mport).get("rsm_proxy_client_memory_bytes", BUDGET + 1) <= BUDGET
        check(wait_until(under_budget, 10), "the clients hold less than the budget again")
        m = metrics(mport)
        gone = sum(1 for s in held if closed(s))
        check(1 <= gone < 24, f"some of the large clients closed, not all: {gone}")
        check(m.get("rsm_proxy_clients_evicted_total") == gone,
              f"each eviction counted once: {m.get('rsm_proxy_clients_evicted_total')} vs {gone}")
        watcher.sendall(encode(["SET", "w", "1"]) + encode(["GET", "w"]))
        check(watcher.recv(64) == b"+OK\r\n$1\r\n1\r\n", "a small client is served throughout")
        with open(log_path) as f:
            check("maxmemory-clients" in f.read(), "the eviction is logged")
        watcher.close()
        proxy.send_signal(15)
        check(proxy.wait(10) == 0, "the proxy stops cleanly")
        proxy = None
    finally:
        for s in held:
            s.close()
        if proxy is not None:
            terminate(proxy)
        terminate(redis)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
