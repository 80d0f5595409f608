"""Real redis-server and redis-sentinel processes on loopback, for the Python test and benchmark
scripts (tests/bench, tests/chaos): RESP helpers, a replication group (a master, replicas, 3
sentinels), and the lainlet emulator serving that group.

Every process started here dies with the script (PR_SET_PDEATHSIG), also when ctest kills it on
a timeout, and stop() ends them all.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import time

MASTER = "mymaster"

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(argv, **kw):
    """Popen whose child is killed when this script dies."""
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    """One reply from a binary file object: simple strings and errors as their whole line
    ("+OK", "-ERR ..."), integers as ":N", bulks as str (None for nil), arrays as lists."""
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


def command(port, *args, timeout=2.0):
    """One command on a new connection to 127.0.0.1:port."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(args))
        return read_reply(s.makefile("rb"))


def wait_until(cond, timeout, step=0.02):
    until = time.time() + timeout
    while time.time() < until:
        try:
            if cond():
                return True
        except (OSError, ValueError, ConnectionError):
            pass
        time.sleep(step)
    return False


def terminate(p, timeout=5):
    """SIGCONT+SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


class Server:
    """One redis-server or redis-sentinel with a config file of its own (Sentinel rewrites it,
    so a restart keeps what it learnt), restartable on the same port."""

    def __init__(self, kind, tmp, conf, port=None):
        self.kind, self.port = kind, port or free_port()
        self.dir = os.path.join(tmp, f"{kind}-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, f"{kind}.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n" + conf)
        self.proc = None
        self.start()

    def start(self):
        binary = "redis-sentinel" if self.kind == "sentinel" else "redis-server"
        self.proc = spawn([binary, self.conf])

    def await_ping(self, timeout=10):
        assert wait_until(lambda: command(self.port, "PING") == "+PONG", timeout), \
            f"{self.kind} on {self.port} does not answer"

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout=10):
        return terminate(self.proc, timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Group:
    """`replicas`+1 redis nodes (the first the master) and `sentinels` sentinels monitoring it
    with quorum 2, down-after `down_after_ms`, failover-timeout 5000. Nodes keep an RDB (saved
    on SIGTERM) so a restarted node comes back with its data. `min_replicas_to_write` as
    `rsm ctl --min-replicas-to-write` would set it (0: Redis's default, off)."""

    def __init__(self, tmp, replicas=2, sentinels=3, down_after_ms=1000, min_replicas_to_write=0):
        self.tmp, self.down_after_ms = tmp, down_after_ms
        self.node_conf = "save 3600 1\nappendonly no\n"
        if min_replicas_to_write:
            self.node_conf += f"min-replicas-to-write {min_replicas_to_write}\nmin-replicas-max-lag 10\n"
        self.redis, self.sentinels = [], []
        try:
            self._start(replicas, sentinels)
        except BaseException:
            self.stop()  # leave nothing behind when one of them does not start
            raise

    def _start(self, replicas, sentinels):
        master = Server("redis", self.tmp, self.node_conf)
        self.redis.append(master)
        for _ in range(replicas):
            self.redis.append(Server("redis", self.tmp, self.node_conf + f"replicaof 127.0.0.1 {master.port}\n"))
        for r in self.redis:
            r.await_ping()
        assert wait_until(lambda: all("master_link_status:up" in command(r.port, "INFO", "replication")
                                      for r in self.redis[1:]), 15), "replicas did not sync"
        for _ in range(sentinels):
            self.add_sentinel(master.port)
        assert wait_until(self.sentinels_know_everyone, 20), "sentinels not ready"

    def add_sentinel(self, master_port):
        s = Server("sentinel", self.tmp, f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n"
                                         f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                                         f"sentinel failover-timeout {MASTER} 5000\n")
        s.await_ping()
        self.sentinels.append(s)
        return s

    def sentinel_knows(self, port, others=None):
        m = command(port, "SENTINEL", "MASTER", MASTER)
        d = dict(zip(m[::2], m[1::2]))
        others = len([s for s in self.sentinels if s.running()]) - 1 if others is None else others
        return (int(d.get("num-slaves", 0)) == len(self.redis) - 1
                and int(d.get("num-other-sentinels", 0)) >= others)

    def sentinels_know_everyone(self):
        return all(self.sentinel_knows(s.port) for s in self.sentinels if s.running())

    def master_port(self):
        """The master's port as the first answering sentinel names it (None if none answers)."""
        for s in self.sentinels:
            if not s.running():
                continue
            try:
                a = command(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
                if a:
                    return int(a[1])
            except (OSError, ConnectionError, ValueError):
                continue
        return None

    def node(self, port):
        return next(r for r in self.redis if r.port == port)

    def settled(self):
        """Every running sentinel names the same master, it says role:master, and every running
        replica's link to it is up."""
        names = set()
        for s in self.sentinels:
            if s.running():
                a = command(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
                names.add(int(a[1]))
        if len(names) != 1:
            return False
        m = names.pop()
        if "role:master" not in command(m, "INFO", "replication"):
            return False
        for r in self.redis:
            if r.running() and r.port != m:
                info = command(r.port, "INFO", "replication")
                if f"master_port:{m}" not in info or "master_link_status:up" not in info:
                    return False
        return True

    def procwatcher_json(self):
        """The group as lainlet's procwatcher serves it (InstanceNo by position)."""
        def procs(name, servers):
            return {"proc": [{"InstanceNo": i + 1, "IP": "127.0.0.1", "Port": s.port, "ProcName": name}
                             for i, s in enumerate(servers)]}
        return json.dumps([procs("redis", self.redis), procs("redis-sentinel", self.sentinels)])

    def stop(self):
        for s in self.redis + self.sentinels:
            if s.proc is not None:
                terminate(s.proc)


class Lainlet:
    """`rsm lainlet` serving a procwatcher file, stoppable and restartable on the same port."""

    def __init__(self, rsm, tmp, data):
        self.rsm, self.port = rsm, free_port()
        self.file = os.path.join(tmp, "procwatcher.json")
        self.write(data)
        self.proc = None
        self.start()

    def write(self, data):
        tmp = self.file + ".new"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, self.file)

    def start(self):
        self.proc = spawn([self.rsm, "lainlet", "--file", self.file, "--listen", f"127.0.0.1:{self.port}",
                           "--log-level", "warn"])
        assert wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 0.5).close() is None, 10), \
            "the lainlet emulator did not start"

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
