#!/usr/bin/python3
"""Redis ACL users end to end through `rsm proxy --auth passthrough`.

A master and a replica whose `default` user is off, with ACL users: `app` (its own keys,
read/write, no dangerous commands), `ops`, `ro`, `bare` (GET alone), a least-privilege user for
the proxy's own connections (`ROLE`, `INFO`), a replication user (`masteruser`) and a user for
the sentinels; three sentinels with a password of their own. Checked:
  - each reply of a list of commands, sent as `app` through the proxy and directly, is the
    same bytes: NOPERM for a key outside `app:*`, for FLUSHALL, for a command outside the
    user's categories, WRONGPASS, NOAUTH before AUTH (the proxy answers none of them itself);
  - HELLO 3 AUTH works (a RESP3 map), a wrong password in it is Redis's WRONGPASS;
  - a session can AUTH again as another user, and its requests then run as that user;
  - CLIENT ID and CLIENT INFO: the proxy's own answer only when Redis lets the user run them;
  - 200 clients of 3 users (RESP2 and RESP3) stay on shared connections: none pinned, and at
    most threads x protocols connections per user at Redis;
  - after a SENTINEL FAILOVER, the users' requests run on the new master (the proxy reopens
    their connections with the passwords Redis accepted);
  - no password in the proxy's log or metrics.

  tests/acl/acl_test.py --rsm build/test/rsm
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
from redis_group import MASTER, encode, free_port, spawn, terminate, wait_until  # noqa: E402

PASSWORDS = {
    "admin": "admin-secret-5d1e",
    "rsmproxy": "proxy-secret-93ac",
    "repl": "repl-secret-0b7f",
    "sentinel": "sentinel-user-secret-66d2",
    "app": "app-secret-e41c",
    "ops": "ops-secret-2f90",
    "ro": "ro-secret-7a3b",
    "bare": "bare-secret-c0de",
}
SENTINEL_PASSWORD = "sentinels-own-secret-4411"
ACL = f"""user default off
user admin on >{PASSWORDS['admin']} ~* &* +@all
user rsmproxy on >{PASSWORDS['rsmproxy']} +role +info +ping +client|setname
user repl on >{PASSWORDS['repl']} +psync +replconf +ping
user sentinel on >{PASSWORDS['sentinel']} &* +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill
user app on >{PASSWORDS['app']} ~app:* +@read +@write +@connection -@dangerous
user ops on >{PASSWORDS['ops']} ~* &* +@all -@dangerous
user ro on >{PASSWORDS['ro']} ~* +@read +@connection -@dangerous
user bare on >{PASSWORDS['bare']} ~* +get +auth +hello
masteruser repl
masterauth {PASSWORDS['repl']}
"""


def raw_reply(f):
    """One reply's bytes, whole (RESP2 and RESP3)."""
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t = line[:1]
    if t in b"$=!":
        n = int(line[1:-2])
        return line if n < 0 else line + f.read(n + 2)
    if t in b"*%~>|":
        n = int(line[1:-2])
        if n < 0:
            return line
        if t in b"%|":
            n *= 2
        return line + b"".join(raw_reply(f) for _ in range(n))
    return line


class Conn:
    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def __call__(self, *args):
        self.s.sendall(encode(args))
        return raw_reply(self.f)

    def close(self):
        self.f.close()  # the socket closes only once its file object does
        self.s.close()


def node_conf(d, port, extra=""):
    os.makedirs(d)
    path = os.path.join(d, "redis.conf")
    with open(path, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nsave \"\"\n" + ACL + extra)
    return path


def admin(port):
    c = Conn(port)
    assert c("AUTH", "admin", PASSWORDS["admin"]) == b"+OK\r\n"
    return c


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1]), text
    return None, text


def backend_connections(port):
    """CLIENT LIST of a node, as a list of {field: value}, without the admin connection asking."""
    c = admin(port)
    try:
        body = c("CLIENT", "LIST").split(b"\r\n", 1)[1].decode()
    finally:
        c.close()
    out = []
    for line in body.splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if fields.get("cmd") != "client|list":
            out.append(fields)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    args = ap.parse_args()
    for tool in ("redis-server", "redis-sentinel"):
        if not shutil.which(tool):
            print(f"skipped: {tool} is not installed")
            return 77
    tmp = tempfile.mkdtemp(prefix="rsm-acl-")
    procs = []
    proxy = None
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    try:
        m_port, r_port = free_port(), free_port()
        procs.append(spawn(["redis-server", node_conf(os.path.join(tmp, "master"), m_port)]))
        procs.append(spawn(["redis-server", node_conf(os.path.join(tmp, "replica"), r_port,
                                                      f"replicaof 127.0.0.1 {m_port}\n")]))
        assert wait_until(lambda: b"master_link_status:up" in admin(r_port)("INFO", "replication"),
                          20), "the replica did not sync as the replication user"
        s_ports = []
        for i in range(3):
            p = free_port()
            d = os.path.join(tmp, f"sentinel-{i}")
            os.makedirs(d)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write(f"port {p}\nbind 127.0.0.1\ndir {d}\nrequirepass {SENTINEL_PASSWORD}\n"
                        f"sentinel monitor {MASTER} 127.0.0.1 {m_port} 2\n"
                        f"sentinel auth-user {MASTER} sentinel\n"
                        f"sentinel auth-pass {MASTER} {PASSWORDS['sentinel']}\n"
                        f"sentinel down-after-milliseconds {MASTER} 1000\n"
                        f"sentinel failover-timeout {MASTER} 5000\n")
            procs.append(spawn(["redis-sentinel", conf]))
            s_ports.append(p)

        def sentinels_ready():
            for p in s_ports:
                c = Conn(p)
                assert c("AUTH", SENTINEL_PASSWORD) == b"+OK\r\n"
                r = c("SENTINEL", "MASTER", MASTER).decode()
                c.close()
                if "num-other-sentinels\r\n$1\r\n2\r" not in r or "num-slaves\r\n$1\r\n1\r" not in r:
                    return False
            return True
        assert wait_until(sentinels_ready, 30), "the sentinels did not find each other"

        port, metrics_port = free_port(), free_port()
        log_path = os.path.join(tmp, "proxy.log")
        proxy = spawn([args.rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--auth", "passthrough",
                       "--threads", "2", "--sentinels",
                       ",".join(f"127.0.0.1:{p}" for p in s_ports), "--master-name", MASTER,
                       "--username", "rsmproxy", "--password", PASSWORDS["rsmproxy"],
                       "--sentinel-password", SENTINEL_PASSWORD,
                       "--metrics-listen", f"127.0.0.1:{metrics_port}", "--check-interval", "200ms"],
                      stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
        r = subprocess.run([args.rsm, "proxy", "--auth", "passthrough", "--requirepass", "x",
                            "--master", f"127.0.0.1:{m_port}"], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 2 and "--requirepass" in r.stderr,
              f"--auth passthrough with --requirepass is a usage error: {r.returncode} {r.stderr}")

        def routed():
            c = Conn(port)
            ok = c("AUTH", "app", PASSWORDS["app"]) == b"+OK\r\n" and \
                c("SET", "app:ready", "1") == b"+OK\r\n"
            c.close()
            return ok
        assert wait_until(routed, 30), "the proxy did not route app's requests to the master"

        # 1. The same bytes as Redis's, command by command, before and after AUTH.
        via, direct = Conn(port), Conn(m_port)
        script = [
            ("GET", "app:1"), ("PING",),
            ("AUTH", "app", "wrong-password"), ("AUTH", "nobody", "x"), ("AUTH", "just-a-password"),
            ("AUTH", "app", PASSWORDS["app"]),
            ("SET", "app:1", "v"), ("GET", "app:1"), ("SET", "other:1", "v"), ("GET", "other:1"),
            ("MGET", "app:1", "other:1"), ("DEL", "other:2"), ("FLUSHALL",), ("FLUSHDB",),
            ("KEYS", "*"), ("INFO", "server"), ("EVAL", "return 1", "0"),
            ("PUBLISH", "news", "x"), ("CONFIG", "GET", "maxmemory"), ("OBJECT", "ENCODING", "other:1"),
            ("TYPE", "app:1"), ("EXISTS", "other:1"), ("SELECT", "1"), ("GET", "app:1"),
            ("CLIENT", "LIST"), ("ACL", "WHOAMI"), ("CLIENT", "SETNAME", "a-name"),
            ("CLIENT", "GETNAME"), ("ECHO", "hello"), ("HELLO", "3", "AUTH", "app", "wrong"),
        ]
        for cmd in script:
            a, b = via(*cmd), direct(*cmd)
            check(a == b, f"{' '.join(cmd[:2])}: proxy {a!r} != redis {b!r}")
        via.close()
        direct.close()

        # 2. HELLO 3 AUTH, then the user's rules in RESP3; AUTH as another user moves the session.
        c = Conn(port)
        hello = c("HELLO", "3", "AUTH", "app", PASSWORDS["app"])
        check(hello.startswith(b"%") and b"proto\r\n:3" in hello, f"HELLO 3 AUTH: {hello!r}")
        check(c("SET", "app:2", "x") == b"+OK\r\n", "app writes app:2 in RESP3")
        check(c("GET", "other:1").startswith(b"-NOPERM"), "app gets NOPERM on other:1 in RESP3")
        info = c("CLIENT", "INFO")
        check(b"user=app" in info and b"resp=3" in info, f"CLIENT INFO as app: {info!r}")
        check(c("AUTH", "ops", PASSWORDS["ops"]) == b"+OK\r\n", "AUTH ops")
        check(c("SET", "other:1", "by-ops") == b"+OK\r\n", "ops writes other:1")
        who = c("ACL", "WHOAMI")
        check(who.endswith(b"ops\r\n"), f"ACL WHOAMI after AUTH ops: {who!r}")
        c.close()
        bare, bare_direct = Conn(port), Conn(m_port)
        for cmd in (("AUTH", "bare", PASSWORDS["bare"]), ("GET", "other:1"), ("CLIENT", "ID"),
                    ("CLIENT", "INFO"), ("SET", "app:3", "x")):
            a, b = bare(*cmd), bare_direct(*cmd)
            check(a == b, f"bare {' '.join(cmd[:2])}: proxy {a!r} != redis {b!r}")
        bare.close()
        bare_direct.close()
        c = Conn(port)
        c("AUTH", "ops", PASSWORDS["ops"])
        cid = c("CLIENT", "ID")
        check(cid.startswith(b":") and int(cid[1:]) < 10000, f"CLIENT ID is the proxy's: {cid!r}")
        c.close()

        # 3. 200 clients of 3 users, RESP2 and RESP3, all on shared connections.
        clients = []
        users = [("app", 2), ("ops", 3), ("ro", 2)]
        for i in range(200):
            user, proto = users[i % 3]
            k = Conn(port)
            if proto == 3:
                r = k("HELLO", "3", "AUTH", user, PASSWORDS[user])
                check(r.startswith(b"%"), f"client {i}: HELLO 3 AUTH {user}: {r!r}")
            else:
                r = k("AUTH", user, PASSWORDS[user])
                check(r == b"+OK\r\n", f"client {i}: AUTH {user}: {r!r}")
            clients.append((k, user))
        for i, (k, user) in enumerate(clients):
            if user == "ro":
                r = k("GET", "app:1")
                check(r == b"$1\r\nv\r\n", f"client {i} (ro) reads: {r!r}")
                r = k("SET", "app:1", "no")
                check(r.startswith(b"-NOPERM"), f"client {i} (ro) may not write: {r!r}")
            else:
                key = f"app:c{i}" if user == "app" else f"ops:c{i}"
                r = k("SET", key, str(i))
                check(r == b"+OK\r\n", f"client {i} ({user}) writes: {r!r}")
        pinned, _ = metric(metrics_port, "rsm_proxy_pinned_clients")
        check(pinned == 0, f"no client pinned: {pinned}")
        # The proxy's connections at the master, by lane (user, protocol, db); the ones whose last
        # command was AUTH are the threads' authentication connections (their user is whoever
        # authenticated last).
        conns = backend_connections(m_port)
        lanes = {}
        for c in conns:
            if c.get("cmd") != "auth":
                key = (c.get("user"), c.get("resp"), c.get("db"))
                lanes[key] = lanes.get(key, 0) + 1
        checkers = sum(1 for c in conns if c.get("cmd") == "auth")
        for user, proto in users:
            n = lanes.get((user, str(proto), "0"), 0)
            check(1 <= n <= 2, f"{user}: 1 to 2 (threads) shared connections in RESP{proto}: {lanes}")
        check(all(n <= 2 for (u, _, _), n in lanes.items() if u in ("app", "ops", "ro", "bare")),
              f"at most one connection per thread and lane: {lanes}")
        check(checkers <= 2, f"at most one authentication connection per thread: {checkers}")
        for k, _ in clients:
            k.close()

        # 4. A failover: the users' connections reopen on the new master.
        s = Conn(s_ports[0])
        s("AUTH", SENTINEL_PASSWORD)
        check(s("SENTINEL", "FAILOVER", MASTER) == b"+OK\r\n", "SENTINEL FAILOVER")
        s.close()

        def on_new_master():
            c = Conn(port)
            try:
                if c("AUTH", "app", PASSWORDS["app"]) != b"+OK\r\n":
                    return False
                if c("SET", "app:after", "1") != b"+OK\r\n":
                    return False
            finally:
                c.close()
            return b"role:master" in admin(r_port)("INFO", "replication")
        check(wait_until(on_new_master, 30), "app writes on the new master after the failover")
        check(admin(r_port)("GET", "app:after") == b"$1\r\n1\r\n", "the write is on the new master")

        failures_metric, text = metric(metrics_port, "rsm_proxy_auth_failures_total")
        check(failures_metric is not None and failures_metric >= 3,
              f"wrong passwords counted: {failures_metric}")
        with open(log_path) as f:
            log = f.read()
        for name, secret in [*PASSWORDS.items(), ("sentinels", SENTINEL_PASSWORD)]:
            check(secret not in log and secret not in text, f"{name}'s password in the log or metrics")
        proxy.send_signal(15)
        check(proxy.wait(10) == 0, "the proxy stops cleanly")
        proxy = None
    finally:
        if proxy is not None:
            terminate(proxy)
        for p in procs:
            terminate(p)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
