#!/usr/bin/python3
"""Chaos under load: one fault at a time against a real group behind `rsm proxy`.

A group (a master, 2 replicas, 3 sentinels), the lainlet emulator serving it, and `rsm proxy`
finding the sentinels through lainlet (--threads 2). Under continuous mixed load through the
proxy, one scenario:

  kill-master        kill -9 the master
  sigstop-master     SIGSTOP the master past down-after, SIGCONT it after the switch
  kill-sentinel      kill 1 of the 3 sentinels
  kill-2-sentinels   kill 2 of 3 (no failover possible: the verified master keeps being served)
  restart-redis      restart every redis node in turn (SIGTERM, which saves, then start again)
  lainlet-outage     stop the lainlet emulator for 30 s
  move-sentinel      a sentinel moves to a new address (lainlet tells of the move)
  restart-proxy      restart the proxy under 10,000 connected clients
  pipe-import        a redis-cli --pipe import of 1M commands through the proxy (no fault)

The load: INCR+ECHO checkers (every reply must belong to its request), pipelined SET/GET
clients (16 deep), a MULTI/EXEC client, a subscriber with its publisher, a BLPOP waiter with
its pusher, and a writer (SET w:i every 5 ms) whose acknowledged writes are looked up on the
final master. Clients reconnect after an error.

It prints what the clients saw (replies, error replies, disconnects, the longest gap between
acknowledged writes) and fails when: a reply did not belong to its request; an acknowledged
write is missing that asynchronous replication could not have lost (only writes acknowledged
by a master before it was killed or frozen may be lost, never one acknowledged after the
switch); the proxy crashed; its RSS passed the bound; or the load did not resume.

  tests/chaos/chaos.py --rsm build/test/rsm --scenario kill-master [--sanitized]

Bounded: every scenario ends by itself (about 15-60 s); everything started is stopped.
"""
import argparse
import asyncio
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import (MASTER, Group, Lainlet, command, encode, free_port, spawn,  # noqa: E402
                         terminate, wait_until)

SCENARIOS = ["kill-master", "sigstop-master", "kill-sentinel", "kill-2-sentinels", "restart-redis",
             "lainlet-outage", "move-sentinel", "restart-proxy", "pipe-import"]
REQUEST_TIMEOUT = 15.0  # above --failover-hold (5 s): a request is answered or errors before this


# --- an asyncio RESP client ----------------------------------------------------------------

class RespError(str):
    pass


async def read_reply(r):
    line = await r.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RespError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        return None if n < 0 else (await r.readexactly(n + 2))[:-2].decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [await read_reply(r) for _ in range(n)]
    raise ConnectionError(f"bad reply {line!r}")


class Conn:
    def __init__(self, r, w):
        self.r, self.w = r, w

    @classmethod
    async def open(cls, port):
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        return cls(r, w)

    def send(self, *cmds):
        self.w.write(b"".join(encode(c) for c in cmds))

    async def reply(self, timeout=REQUEST_TIMEOUT):
        return await asyncio.wait_for(read_reply(self.r), timeout)

    async def call(self, *args):
        self.send(args)
        return await self.reply()

    def close(self):
        self.w.close()


class Mismatch(Exception):
    pass


class Stats:
    def __init__(self, name):
        self.name = name
        self.ok = self.errors = self.disconnects = self.timeouts = self.refused = 0
        self.mismatches = []
        self.last_ok = 0.0
        self.error_kinds = {}

    def error(self, e):
        self.errors += 1
        kind = str(e).split(" ")[0]
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def line(self):
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.error_kinds.items()))
        return (f"{self.name:<12} ok {self.ok:>7}  error replies {self.errors:>5}{' (' + kinds + ')' if kinds else ''}"
                f"  disconnects {self.disconnects:>3}  timeouts {self.timeouts:>3}  refused connects {self.refused:>4}"
                f"  mismatches {len(self.mismatches)}")


class Load:
    """The mixed load, every client a task that reconnects after a failure."""

    def __init__(self, port):
        self.port = port
        self.stopping = False
        self.stats = {}
        self.tasks = []
        self.acks = []  # (i, time) of the writer's acknowledged SETs
        self.pub_seq = 0
        self.push_seq = 0
        self.write_seq = 0

    def start(self):
        for i in range(4):
            self._client(f"checker-{i}", self._checker, i)
        for i in range(2):
            self._client(f"pipeline-{i}", self._pipeline, i)
        self._client("multi", self._multi, 0)
        self._client("subscriber", self._subscriber, 0)
        self._client("publisher", self._publisher, 0)
        self._client("blpop", self._blpop, 0)
        self._client("pusher", self._pusher, 0)
        self._client("writer", self._writer, 0)

    async def stop(self):
        self.stopping = True
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _client(self, name, body, n):
        st = self.stats[name] = Stats(name)
        self.tasks.append(asyncio.create_task(self._run(st, body, n)))

    async def _run(self, st, body, n):
        state = {"seq": 0}
        while not self.stopping:
            try:
                c = await Conn.open(self.port)
            except (OSError, asyncio.TimeoutError):
                st.refused += 1
                await asyncio.sleep(0.05)
                continue
            try:
                await body(c, st, n, state)
            except Mismatch as e:
                st.mismatches.append(str(e))
                print(f"MISMATCH {st.name}: {e}", file=sys.stderr)
            except asyncio.TimeoutError:
                st.timeouts += 1
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                st.disconnects += 1
            finally:
                c.close()
            if not self.stopping:
                await asyncio.sleep(0.02)

    def _good(self, st):
        st.ok += 1
        st.last_ok = time.time()

    async def _checker(self, c, st, n, state):
        # ECHO must come back as its own token, INCR as an integer: a reply meant for another
        # request (or client) shows up as a wrong token or a wrong type.
        while not self.stopping:
            state["seq"] += 1
            token = f"c{n}:{state['seq']}:{random.getrandbits(32)}"
            c.send(("ECHO", token), ("INCR", f"chk:{n}"))
            echo, incr = await c.reply(), await c.reply()
            if isinstance(echo, RespError):
                st.error(echo)
            elif echo != token:
                raise Mismatch(f"ECHO {token} answered {echo!r}")
            if isinstance(incr, RespError):
                st.error(incr)
            elif not isinstance(incr, int) or isinstance(incr, bool):
                raise Mismatch(f"INCR answered {incr!r}")
            if not isinstance(echo, RespError) and not isinstance(incr, RespError):
                self._good(st)

    async def _pipeline(self, c, st, n, state):
        # 8 SET/GET pairs per batch; a GET returns what its SET wrote (or nil, or an earlier
        # value of the same key, when the SET was refused or a failover lost it), never another
        # key's value.
        while not self.stopping:
            pairs = []
            for _ in range(8):
                state["seq"] += 1
                key = f"p{n}:{state['seq'] % 1000}"
                value = f"{key}={state['seq']}:{random.getrandbits(32)}"
                pairs.append((key, value))
            c.send(*[cmd for k, v in pairs for cmd in (("SET", k, v), ("GET", k))])
            for k, v in pairs:
                s, g = await c.reply(), await c.reply()
                for r in (s, g):
                    if isinstance(r, RespError):
                        st.error(r)
                if not isinstance(s, RespError) and s != "OK":
                    raise Mismatch(f"SET {k} answered {s!r}")
                if not isinstance(g, RespError) and g is not None and g != v:
                    if not (isinstance(g, str) and g.startswith(k + "=")):
                        raise Mismatch(f"GET {k} after SET {v!r} answered {g!r}")
                    # An earlier value of the same key: this SET was refused or lost.
                    st.error_kinds["stale-GET"] = st.error_kinds.get("stale-GET", 0) + 1
                    continue
                if s == "OK" and g == v:
                    self._good(st)

    async def _multi(self, c, st, n, state):
        while not self.stopping:
            state["seq"] += 1
            token = f"m:{state['seq']}"
            c.send(("MULTI",), ("INCR", "multi:n"), ("ECHO", token), ("EXEC",))
            replies = [await c.reply() for _ in range(4)]
            if any(isinstance(r, RespError) for r in replies):
                for r in replies:
                    if isinstance(r, RespError):
                        st.error(r)
                continue
            if replies[:3] != ["OK", "QUEUED", "QUEUED"] or not isinstance(replies[3], list) \
                    or len(replies[3]) != 2 or not isinstance(replies[3][0], int) or replies[3][1] != token:
                raise Mismatch(f"MULTI/INCR/ECHO {token}/EXEC answered {replies!r}")
            self._good(st)

    async def _subscriber(self, c, st, n, state):
        c.send(("SUBSCRIBE", "chaos"))
        confirm = await c.reply()
        if isinstance(confirm, RespError):
            st.error(confirm)
            return
        if confirm != ["subscribe", "chaos", 1]:
            raise Mismatch(f"SUBSCRIBE answered {confirm!r}")
        last = -1
        while not self.stopping:
            try:
                msg = await c.reply(timeout=0.5)
            except asyncio.TimeoutError:
                continue
            if not isinstance(msg, list) or msg[:2] != ["message", "chaos"] or not msg[2].isdigit():
                raise Mismatch(f"subscriber got {msg!r}")
            if int(msg[2]) <= last:
                raise Mismatch(f"subscriber got {msg[2]} after {last}")
            last = int(msg[2])
            self._good(st)

    async def _produce(self, c, st, interval, next_command):
        """Sends next_command() every `interval` seconds; each must answer an integer."""
        while not self.stopping:
            args = next_command()
            r = await c.call(*args)
            if isinstance(r, RespError):
                st.error(r)
            elif not isinstance(r, int):
                raise Mismatch(f"{args[0]} answered {r!r}")
            else:
                self._good(st)
            await asyncio.sleep(interval)

    async def _publisher(self, c, st, n, state):
        def publish():
            self.pub_seq += 1
            return ("PUBLISH", "chaos", self.pub_seq)
        await self._produce(c, st, 0.02, publish)

    async def _blpop(self, c, st, n, state):
        while not self.stopping:
            r = await c.call("BLPOP", "chaos:list", "1")
            if isinstance(r, RespError):
                st.error(r)
            elif r is not None and (not isinstance(r, list) or r[0] != "chaos:list" or not r[1].startswith("v:")):
                raise Mismatch(f"BLPOP answered {r!r}")
            elif r is not None:
                self._good(st)

    async def _pusher(self, c, st, n, state):
        def push():
            self.push_seq += 1
            return ("LPUSH", "chaos:list", f"v:{self.push_seq}")
        await self._produce(c, st, 0.05, push)

    async def _writer(self, c, st, n, state):
        while not self.stopping:
            self.write_seq += 1
            i = self.write_seq
            r = await c.call("SET", f"w:{i}", i)
            if isinstance(r, RespError):
                st.error(r)
            elif r != "OK":
                raise Mismatch(f"SET w:{i} answered {r!r}")
            else:
                self.acks.append((i, time.time()))
                self._good(st)
            await asyncio.sleep(0.005)


class IdleClients:
    """Many connections that PING once and then wait; after the proxy closes one, it connects
    again and PINGs (used under a proxy restart)."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.connected = 0
        self.reconnected = 0
        self.failed = 0
        self.stopping = False
        self.tasks = []

    async def start(self):
        sem = asyncio.Semaphore(200)
        ready = []

        async def one():
            first = True
            while not self.stopping:
                async with sem:
                    try:
                        c = await Conn.open(self.port)
                        pong = await c.call("PING")
                    except (OSError, asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                        await asyncio.sleep(0.1 + random.random() * 0.2)
                        continue
                if pong != "PONG":
                    self.failed += 1
                    c.close()
                    await asyncio.sleep(0.2)
                    continue
                if first:
                    self.connected += 1
                    ready.append(1)
                    first = False
                else:
                    self.reconnected += 1
                try:
                    await c.r.read(1)  # returns at EOF: the proxy went away
                except (OSError, ConnectionError):
                    pass
                c.close()
        self.tasks = [asyncio.create_task(one()) for _ in range(self.n)]
        until = time.time() + 120
        while len(ready) < self.n and time.time() < until:
            await asyncio.sleep(0.1)
        return len(ready)

    async def stop(self):
        self.stopping = True
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# --- the proxy -------------------------------------------------------------------------------

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Proxy:
    def __init__(self, rsm, lainlet_port, tmp, port=None):
        self.rsm, self.lainlet_port, self.tmp = rsm, lainlet_port, tmp
        self.port = port or free_port()
        self.metrics_port = free_port()
        self.log = open(os.path.join(tmp, "proxy.log"), "ab")
        self.start()

    def start(self):
        self.proc = spawn([self.rsm, "proxy", "--listen", f"127.0.0.1:{self.port}",
                           "--lainlet", f"127.0.0.1:{self.lainlet_port}", "--app", "chaos",
                           "--master-name", MASTER, "--threads", "2", "--max-clients", "15000",
                           "--metrics-listen", f"127.0.0.1:{self.metrics_port}"],
                          stderr=self.log)
        assert wait_until(lambda: command(self.port, "PING") == "+PONG", 20), \
            f"the proxy did not start: {self.log_tail()}"

    def metric(self, name):
        import urllib.request
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def log_tail(self, n=20):
        self.log.flush()
        with open(os.path.join(self.tmp, "proxy.log"), "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")

    def stop(self):
        return terminate(self.proc, 15)


# --- scenarios -------------------------------------------------------------------------------

class Run:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.failures = []
        self.notes = []
        self.fault_at = None
        self.switch_at = None
        self.lossy_at = None  # when a master was killed or frozen: writes it acknowledged may be lost

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
        print(f"  {'ok  ' if cond else 'FAIL'} {what}")

    async def wait_for(self, cond, timeout):
        until = time.time() + timeout
        while time.time() < until:
            try:
                if await asyncio.to_thread(cond):
                    return True
            except (OSError, ValueError, ConnectionError, AssertionError):
                pass
            await asyncio.sleep(0.05)
        return False

    async def await_switch(self, old_port, timeout=30):
        ok = await self.wait_for(lambda: self.group.master_port() not in (None, old_port), timeout)
        self.switch_at = time.time()
        return ok

    async def scenario(self, name):
        g = self.group
        if name == "kill-master":
            old = g.master_port()
            self.fault_at = self.lossy_at = time.time()
            g.node(old).kill()
            self.check(await self.await_switch(old), "the sentinels switched to a new master")
            await asyncio.sleep(3)
            g.node(old).start()  # back as a replica (Sentinel reconfigures it)
        elif name == "sigstop-master":
            old = g.master_port()
            self.fault_at = self.lossy_at = time.time()
            g.node(old).signal(signal.SIGSTOP)
            self.check(await self.await_switch(old), "the sentinels switched to a new master")
            await asyncio.sleep(1)
            g.node(old).signal(signal.SIGCONT)  # wakes up believing it is the master
            await asyncio.sleep(4)
        elif name == "kill-sentinel":
            self.fault_at = time.time()
            g.sentinels[0].kill()
            await asyncio.sleep(5)
        elif name == "kill-2-sentinels":
            self.fault_at = time.time()
            g.sentinels[0].kill()
            g.sentinels[1].kill()
            await asyncio.sleep(8)  # past several --check-interval rounds
            self.check(g.master_port() == g.redis[0].port, "the master did not change")
        elif name == "restart-redis":
            self.fault_at = time.time()
            master = g.master_port()
            order = [r for r in g.redis if r.port != master] + [g.node(master)]
            for r in order:
                r.stop()
                r.start()
                r.await_ping()
                ok = await self.wait_for(g.settled, 30)
                self.check(ok, f"the group settled after restarting redis {r.port}")
        elif name == "lainlet-outage":
            self.fault_at = time.time()
            self.lainlet.stop()
            await asyncio.sleep(30)
            self.lainlet.start()
            await asyncio.sleep(2)
        elif name == "move-sentinel":
            self.fault_at = time.time()
            moved = g.sentinels[2]
            new = g.add_sentinel(g.master_port())
            moved.kill()
            g.sentinels.remove(moved)
            g.sentinels.remove(new)
            g.sentinels.insert(2, new)  # the same InstanceNo (3) at a new address
            self.lainlet.write(g.procwatcher_json())
            ok = await self.wait_for(lambda: self.proxy.metric("rsm_proxy_sentinels_answering") == 3
                                     and self.proxy.metric("rsm_proxy_sentinels") == 3, 20)
            self.check(ok, "the proxy follows the sentinel at its new address (3 known, 3 answering)")
            # The moved sentinel counts: with the first one gone, a failover still has its majority.
            g.sentinels[0].kill()
            old = g.master_port()
            self.lossy_at = time.time()
            g.node(old).kill()
            self.check(await self.await_switch(old), "with the moved sentinel, a failover still happens")
            await asyncio.sleep(3)
        elif name == "restart-proxy":
            before = rss_kib(self.proxy.proc.pid)
            idle = IdleClients(self.proxy.port, 10000)
            n = await idle.start()
            after = rss_kib(self.proxy.proc.pid)
            self.check(n == 10000, f"10,000 idle clients connected and answered PING ({n})")
            per_conn = (after - before) * 1024 / max(n, 1)
            print(f"  proxy RSS {before // 1024} MiB before, {after // 1024} MiB with {n} more clients: "
                  f"{per_conn / 1024:.1f} KiB per idle connection")
            self.notes.append(f"RSS per idle connection: {per_conn / 1024:.1f} KiB")
            if not self.args.sanitized:
                self.check(per_conn < 16 * 1024, "RSS per idle connection under 16 KiB")
            self.fault_at = time.time()
            t0 = time.time()
            code = self.proxy.stop()
            self.check(code == 0, f"the old proxy drained and exited 0 (exit {code}, {time.time() - t0:.1f} s)")
            self.proxy.start()
            ok = await self.wait_for(lambda: idle.reconnected >= idle.n, 120)
            self.check(ok, f"every idle client reconnected to the new proxy ({idle.reconnected})")
            print(f"  {idle.reconnected} idle clients reconnected {time.time() - t0:.1f} s after the restart began")
            await idle.stop()
        elif name == "pipe-import":
            await asyncio.to_thread(self.pipe_import)

    def pipe_import(self):
        n = 1_000_000
        path = os.path.join(self.tmp, "import.txt")
        with open(path, "wb") as f:
            chunk = []
            for i in range(n):
                chunk.append(encode(("SET", f"imp:{i}", i)))
                if len(chunk) == 10000:
                    f.write(b"".join(chunk))
                    chunk = []
            f.write(b"".join(chunk))
        pid = self.proxy.proc.pid
        before = rss_kib(pid)
        peak = [before]
        p = subprocess.Popen(["redis-cli", "-p", str(self.proxy.port), "--pipe"], stdin=open(path, "rb"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while p.poll() is None:
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.05)
        out = p.stdout.read().decode()
        self.check(p.returncode == 0 and f"replies: {n}" in out and "errors: 0" in out,
                   f"redis-cli --pipe imported {n} commands: {out.strip().splitlines()[-1] if out else ''}")
        m = self.group.master_port()
        self.check(command(m, "DBSIZE").startswith(":") and int(command(m, "DBSIZE")[1:]) >= n,
                   "every imported key is on the master")
        grew = (peak[0] - before) / 1024
        print(f"  proxy RSS {before // 1024} MiB before, peak {peak[0] // 1024} MiB during the import (+{grew:.1f} MiB)")
        self.notes.append(f"--pipe of 1M commands: proxy RSS +{grew:.1f} MiB")
        if not self.args.sanitized:
            self.check(grew < 32, "the proxy's RSS grew by less than 32 MiB")

    async def main(self, name):
        # min-replicas-to-write 1, as production should run (rsm ctl --min-replicas-to-write 1): with
        # it a master with no replica attached refuses writes, so even when Sentinel fails over a
        # just-promoted master again (seen with these short timeouts), what it acknowledged had a
        # replica; without it those writes are lost (asynchronous replication).
        self.group = Group(self.tmp, down_after_ms=1500, min_replicas_to_write=1)
        self.lainlet = Lainlet(self.args.rsm, self.tmp, self.group.procwatcher_json())
        self.proxy = Proxy(self.args.rsm, self.lainlet.port, self.tmp)
        load = Load(self.proxy.port)
        load.start()
        await asyncio.sleep(2)
        print(f"scenario {name}:")
        await self.scenario(name)
        # The load resumes: every client gets good replies again.
        resumed_after = time.time()
        ok = await self.wait_for(lambda: all(s.last_ok > resumed_after for s in load.stats.values()), 30)
        stuck = [s.name for s in load.stats.values() if s.last_ok <= resumed_after]
        self.check(ok, "every client got good replies again after the fault" + (f" (not: {', '.join(stuck)})" if stuck else ""))
        await asyncio.sleep(1)
        await load.stop()
        self.report(load)

    def report(self, load):
        for s in load.stats.values():
            print("  " + s.line())
        mismatches = sum(len(s.mismatches) for s in load.stats.values())
        self.check(mismatches == 0, f"no reply mismatched to its request ({mismatches})")
        # The longest gap between acknowledged writes around the fault.
        fault = self.fault_at or time.time()
        times = [fault] + [t for _, t in load.acks if t > fault]
        gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
        print(f"  unavailability (longest gap between acknowledged writes after the fault): {gap * 1000:.0f} ms")
        # Acknowledged writes on the final master.
        ok = wait_until(lambda: self.group.settled(), 30, 0.1)
        self.check(ok, "the group settled")
        final = self.group.master_port()
        kept = set()
        keys = [i for i, _ in load.acks]
        for k in range(0, len(keys), 500):
            batch = keys[k:k + 500]
            vals = command(final, "MGET", *[f"w:{i}" for i in batch], timeout=5)
            kept.update(i for i, v in zip(batch, vals) if v is not None)
        lost = [(i, t) for i, t in load.acks if i not in kept]
        print(f"  acknowledged writes {len(load.acks)}, missing on the final master {len(lost)}")
        if self.lossy_at:
            # Asynchronous replication: what the old master acknowledged just before it was
            # killed or frozen may not have reached the replica that took over. Nothing it
            # answered later (the client reads an answer a little after it was sent: 200 ms of
            # slack), and nothing acknowledged after the switch, may be missing.
            after_switch = [i for i, t in lost if self.switch_at and t > self.switch_at]
            self.check(not after_switch, f"no write acknowledged after the switch is lost ({len(after_switch)})")
            late = [i for i, t in lost if t > self.lossy_at + 0.2]
            self.check(not late, f"no write acknowledged after the master was killed or frozen is lost ({len(late)})")
        else:
            self.check(not lost, "no acknowledged write lost")
        alive = self.proxy.proc.poll() is None
        self.check(alive, "the proxy is running (no crash)")
        if alive:
            rss = rss_kib(self.proxy.proc.pid) / 1024
            print(f"  proxy RSS at the end: {rss:.0f} MiB")
            if not self.args.sanitized:
                self.check(rss < 256, "proxy RSS under 256 MiB")

    def stop(self):
        for part in ("proxy", "lainlet", "group"):
            obj = getattr(self, part, None)
            if obj is not None:
                obj.stop()


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--scenario", choices=SCENARIOS, required=True)
    ap.add_argument("--sanitized", action="store_true", help="the binary is a sanitizer build: report RSS, do not bound it")
    args = ap.parse_args()
    args.rsm = os.path.abspath(args.rsm)
    raise_fd_limit(32768)  # 10,000 clients here and as many in the proxy (children inherit it)
    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="chaos-", dir=root)
    run = Run(args, tmp)
    started = time.time()
    try:
        asyncio.run(run.main(args.scenario))
    except BaseException as e:
        run.failures.append(f"{type(e).__name__}: {e}")
        print(f"  FAIL {type(e).__name__}: {e}")
    finally:
        if run.failures and getattr(run, "proxy", None):
            print("the proxy's log, last lines:\n" + run.proxy.log_tail())
        run.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"scenario {args.scenario}: {'FAILED' if run.failures else 'passed'} in {time.time() - started:.0f} s")
    for f in run.failures:
        print(f"  failed: {f}")
    sys.exit(1 if run.failures else 0)


if __name__ == "__main__":
    main()
