#!/usr/bin/env python3
"""The hostile-neighbour test: checker clients share the proxy's one data thread (and so its
shared connections) with clients that each send one class of unusual or hostile input. The
checkers must see no wrong reply and no request slower than 1 s; every hostile client gets an
answer or is closed, and the proxy stays up.

  tests/hostile/hostile.py --rsm build/test/rsm

Both backend modes run. Classes (one client each, all at once, while the checkers work):
commands Redis never answers (REPLCONF ACK), inline commands split on \\v and \\f, a NUL in an
inline command, replies at Redis's limits (a 2 MB error and status from a script, arrays nested
600 deep), connection-wide commands (CLIENT PAUSE/KILL, CLIENT REPLY OFF), secrets (CONFIG GET
requirepass), state (SELECT, HELLO 3, RESET, MULTI left open, SUBSCRIBE, MONITOR, CLIENT
TRACKING), blocking (BLPOP), a frame cut in the middle and never finished, malformed RESP, a
pipeline and a 20 MB value never read (bounded: Redis buffers what the proxy does not read).
"""
import argparse
import asyncio
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import redis_group as rg  # noqa: E402

CHECKERS = 8
STALL = 1.0  # seconds: a checker's request slower than this is a failure
RUN_FOR = 6.0  # seconds of checker work, the hostile clients active all along


def cmd(*args):
    return rg.encode([a if isinstance(a, bytes) else str(a).encode() for a in args])


async def read_reply(r):
    line = await r.readline()
    if not line:
        raise ConnectionError("closed")
    t = line[:1]
    if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return line[:-2]
    if t in (b"$", b"!", b"="):
        n = int(line[1:-2])
        if n < 0:
            return None
        data = await r.readexactly(n + 2)
        return data[:-2]
    if t in (b"*", b">", b"~", b"%", b"|"):
        n = int(line[1:-2])
        if n < 0:
            return None
        if t in (b"%", b"|"):
            n *= 2
        return [await read_reply(r) for _ in range(n)]
    raise ValueError(f"bad reply line {line[:40]!r}")


class Checkers:
    def __init__(self, port):
        self.port = port
        self.wrong, self.slowest, self.done, self.errors = [], 0.0, 0, []

    async def one(self, i, until):
        r, w = await asyncio.open_connection("127.0.0.1", self.port)
        n = 0
        while time.time() < until:
            value = f"c{i}-{n}"
            t0 = time.time()
            w.write(cmd("SET", f"ck:{i}", value) + cmd("GET", f"ck:{i}") + cmd("ECHO", value))
            try:
                got = [await asyncio.wait_for(read_reply(r), 10) for _ in range(3)]
            except Exception as e:  # noqa: BLE001 - a checker must never fail
                self.errors.append(f"checker {i}: {e!r}")
                return
            self.slowest = max(self.slowest, time.time() - t0)
            if got != [b"+OK", value.encode(), value.encode()]:
                self.wrong.append((i, value, got))
            self.done += 1
            n += 1
            await asyncio.sleep(0.005)
        w.close()


async def send_and_hold(port, data, read=True, hold=RUN_FOR):
    """One hostile client: sends `data`, reads (or not) whatever comes, holds the connection."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(data)
    got = b""
    until = time.time() + hold
    try:
        while read and time.time() < until:
            chunk = await asyncio.wait_for(r.read(1 << 20), until - time.time())
            if not chunk:
                break
            got += chunk[:4096] if len(got) < 65536 else b""
    except (asyncio.TimeoutError, ConnectionError):
        pass
    if not read:
        await asyncio.sleep(hold)
    w.close()
    return got


def nested_script(depth):
    return ("local t = {} local c = t for i = 1, %d do local n = {} c[1] = n c = n end return t" % depth)


def hostile_inputs():
    big = 2 * 1024 * 1024
    yield "REPLCONF ACK 0 (never answered)", cmd("REPLCONF", "ACK", "0") + cmd("PING"), True
    yield "inline \\vSELECT 5 then GET", b"\x0bSELECT 5\r\nSET ck:0 evil\r\n", True
    yield "inline \\vMULTI and SET", b"\x0bMULTI\r\nSET ck:1 evil\r\n", True
    yield "inline \\vSUBSCRIBE", b"\x0bSUBSCRIBE x\r\n", True
    yield "inline CONFIG \\fSET", b"CONFIG \x0cSET maxmemory 1\r\n", True
    yield "inline with a NUL", b"SET ck:2 e\x00vil\r\nPING\r\n", True
    yield "a 2 MB error from a script", cmd("EVAL", f"return redis.error_reply(string.rep('e', {big}))", 0), True
    yield "a 2 MB status from a script", cmd("EVAL", f"return redis.status_reply(string.rep('s', {big}))", 0), True
    yield "an array nested 600 deep", cmd("EVAL", nested_script(600), 0), True
    yield "CLIENT PAUSE", cmd("CLIENT", "PAUSE", "5000"), True
    yield "CLIENT KILL TYPE normal", cmd("CLIENT", "KILL", "TYPE", "normal"), True
    yield "CLIENT REPLY OFF then SETs", cmd("CLIENT", "REPLY", "OFF") + cmd("SET", "ck:3", "evil") * 100, True
    yield "CONFIG GET requirepass", cmd("CONFIG", "GET", "requirepass"), True
    yield "SELECT 3, FLUSHDB", cmd("SELECT", "3") + cmd("FLUSHDB"), True
    yield "HELLO 3 and CLIENT TRACKING", cmd("HELLO", "3") + cmd("CLIENT", "TRACKING", "on") + cmd("GET", "ck:4"), True
    yield "RESET mid-pipeline", cmd("SELECT", "2") + cmd("RESET") + cmd("SET", "x", "1") * 50, True
    yield "MULTI left open", cmd("MULTI") + cmd("SET", "ck:5", "evil"), True
    yield "SUBSCRIBE", cmd("SUBSCRIBE", "a", "b"), True
    yield "MONITOR", cmd("MONITOR"), True
    yield "BLPOP for 30 s", cmd("BLPOP", "nolist", "30"), True
    yield "a frame cut in the middle", b"*3\r\n$3\r\nSET\r\n$5\r\nck:6", True
    yield "malformed RESP", b"*2\r\n$3\r\nGET\r\n$-7\r\n", True
    yield "a bulk length of 2^63", b"*1\r\n$9223372036854775807\r\n", True
    yield "an unknown command", cmd("NOSUCH", "x") + cmd("CLIENT", "NOSUCH"), True
    yield "a pipeline never read (40 MB of replies)", cmd("GET", "pad") * 40000, False
    yield "a 20 MB value never read, twice", cmd("GET", "big") * 2, False


async def run_mode(rsm, tmp, mode, only=None):
    redis = rg.Server("redis", tmp, "save \"\"\nappendonly no\nbusy-reply-threshold 60000\n")
    proxy = None
    try:
        redis.await_ping()
        rg.command(redis.port, "SET", "big", "x" * (20 * 1024 * 1024), timeout=10)
        rg.command(redis.port, "SET", "pad", "p" * 1000)
        port = rg.free_port()
        log = open(os.path.join(tmp, f"proxy-{mode}.log"), "ab")
        proxy = rg.spawn([rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master",
                          f"127.0.0.1:{redis.port}", "--backend-mode", mode, "--threads", "1"],
                         stderr=log)
        assert rg.wait_until(lambda: rg.command(port, "PING") == "+PONG", 10), "the proxy did not start"
        checkers = Checkers(port)
        until = time.time() + RUN_FOR
        cases = [c for c in hostile_inputs() if only is None or only in c[0]]
        hostile = [send_and_hold(port, data, read) for _, data, read in cases]
        await asyncio.gather(*(checkers.one(i, until) for i in range(CHECKERS)), *hostile)
        failures = []
        if checkers.errors:
            failures += checkers.errors
        if checkers.wrong:
            failures.append(f"{len(checkers.wrong)} wrong replies, e.g. {checkers.wrong[:3]}")
        if checkers.slowest > STALL:
            failures.append(f"a checker waited {checkers.slowest:.2f} s")
        if proxy.poll() is not None:
            failures.append("the proxy died")
        # The hostile clients changed nothing of the checkers' (and no db was flushed for them).
        for i in range(CHECKERS):
            if rg.command(redis.port, "GET", f"ck:{i}") in (None, "evil"):
                failures.append(f"ck:{i} was changed by a hostile client")
        if rg.command(redis.port, "CONFIG", "GET", "maxmemory")[1] != "0":
            failures.append("CONFIG SET passed")
        print(f"  {mode}: {checkers.done} checker rounds, slowest {checkers.slowest * 1000:.0f} ms, "
              f"{len(cases)} hostile clients: {'ok' if not failures else 'FAIL'}")
        for f in failures:
            print(f"    FAIL {f}")
        return failures
    finally:
        if proxy is not None:
            rg.terminate(proxy)
        redis.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--case", help="only the hostile inputs whose name has this text")
    ap.add_argument("--mode", choices=["shared", "dedicated"], help="only this backend mode")
    ap.add_argument("--sanitized", action="store_true",
                    help="the binary is a sanitizer build: a stall is bounded at 5 s, not 1 s")
    args = ap.parse_args()
    global STALL
    if args.sanitized:
        STALL = 5.0
    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="rsm-hostile-", dir=root) as tmp:
        for mode in [args.mode] if args.mode else ["shared", "dedicated"]:
            failures += asyncio.run(run_mode(os.path.abspath(args.rsm), tmp, mode, args.case))
    print(f"hostile neighbours: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
