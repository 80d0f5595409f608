#!/usr/bin/env python3
"""Differential tier: the same byte streams to redis-server directly and through `rsm proxy`
(shared and dedicated mode), the replies compared byte for byte.

Each case runs on a fresh connection to each target: its bytes, then a marker command (ECHO of
a unique string, RESP-framed), and everything the target sends until the marker's reply, or
until it closes the connection (a protocol error). The answers the proxy documents as its own
(refusals, docs/proxy.md) are checked on their own.

Suites (`all` runs every one):
  inline     every byte 0-255 as a separator and inside tokens of inline commands
  state      the connection state the proxy holds itself (HELLO 2|3 with AUTH and SETNAME,
             SELECT, RESET, AUTH, CLIENT SETNAME/GETNAME) in generated sequences, each
             followed by commands that show the state; with and without requirepass. HELLO's
             `id` field is normalised (each target numbers its own connections).
  arity      every command and subcommand of the command table with one argument too few,
             and, for a fixed arity, one too many (Redis refuses each before it runs it);
             the refused ones are left out (the proxy's refusal comes first)

Usage: tests/differential/differential.py --rsm build/test/rsm [--suite inline|state|arity]
"""
import argparse
import os
import re
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import redis_group as rg  # noqa: E402

MARK = b"rsm-differential-end"
MARK_CMD = rg.encode([b"ECHO", MARK])
MARK_REPLY = b"$%d\r\n%s\r\n" % (len(MARK), MARK)


def exchange(port, data, timeout=1.0, mark_prefix=b""):
    """What the server at `port` sends for `data` followed by the marker (the marker's reply
    itself left out), and whether it closed the connection or still waits (Redis waits, for
    one, on an inline line with a NUL: `timeout` is how long a silence means that)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data + mark_prefix + MARK_CMD)
        got = b""
        until = time.time() + timeout
        while not got.endswith(MARK_REPLY):
            if time.time() > until:
                return got, "timeout"
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return got, "closed"
            except TimeoutError:
                return got, "timeout"
            if not chunk:
                return got, "closed"
            got += chunk
        return got[: -len(MARK_REPLY)], "open"


def inline_cases():
    """Inline commands with each byte in every position that matters to the splitter."""
    for b in range(256):
        c = bytes([b])
        if c in (b"\n",):
            continue  # the line's end: covered by the others
        yield f"byte {b:#04x} between arguments", b"ECHO a" + c + b"b\r\n"
        yield f"byte {b:#04x} before the name", c + b"ECHO x\r\n"
        yield f"byte {b:#04x} after the name", b"ECHO" + c + b"x\r\n"
        yield f"byte {b:#04x} inside double quotes", b'ECHO "a' + c + b'b"\r\n'
        yield f"byte {b:#04x} inside single quotes", b"ECHO 'a" + c + b"b'\r\n"
        yield f"byte {b:#04x} after a closing quote", b'ECHO "a"' + c + b"x\r\n"
        yield f"byte {b:#04x} after an escape", b'ECHO "\\' + c + b'"\r\n'
        yield f"byte {b:#04x} before SELECT", c + b"SELECT 5\r\nSET k v\r\nGET k\r\n"
        yield f"byte {b:#04x} before MULTI", c + b"MULTI\r\nPING\r\nEXEC\r\n"
    # Separators that would turn a refused or state-changing command into another one.
    for sep in (b"\v", b"\f", b"\t", b"\0", b"\r"):
        yield f"{sep!r} before SUBSCRIBE", sep + b"SUBSCRIBE ch\r\nPING\r\n"
        yield f"{sep!r} inside the name", b"PI" + sep + b"NG\r\n"
    yield "hex escapes", b'ECHO "\\x41\\x4g\\xZZ\\x7e"\r\n'
    yield "quote escapes", b"ECHO 'it\\'s' \"q\\\"q\"\r\n"
    yield "empty lines", b"\r\n\r\n \r\nPING\r\n"
    yield "CR alone", b"ECHO a\rb\r\n"


def cmd(*args):
    return rg.encode([a if isinstance(a, bytes) else str(a).encode() for a in args])


# Commands that change what the proxy holds for a connection, and commands that show it.
STATE_STEPS = [
    cmd("HELLO"), cmd("HELLO", 2), cmd("HELLO", 3), cmd("HELLO", 4), cmd("HELLO", "03"),
    cmd("HELLO", -1), cmd("HELLO", "x"), cmd("HELLO", 3, "SETNAME", "app-1"),
    cmd("HELLO", 3, "SETNAME", "a b"), cmd("HELLO", 3, "SETNAME"), cmd("HELLO", 2, "FOO"),
    cmd("HELLO", 3, "AUTH", "default"), cmd("HELLO", 3, "AUTH", "default", "pw"),
    cmd("HELLO", 2, "AUTH", "default", "wrong"), cmd("HELLO", 3, "auth", "nobody", "pw"),
    cmd("HELLO", 3, "setname", "n2", "auth", "default", "pw"), cmd("HELLO", "AUTH", "default", "pw"),
    cmd("HELLO", 3, "SETNAME", "ok", "BAD"), cmd("HELLO", 3, "SETNAME", "a b", "BAD"),
    cmd("SELECT", 1), cmd("SELECT", 0), cmd("SELECT", 15), cmd("SELECT", 16), cmd("SELECT", "01"),
    cmd("SELECT", -1), cmd("SELECT", "+1"), cmd("SELECT", "x"), cmd("SELECT", 2 ** 31),
    cmd("SELECT", 2 ** 63), cmd("SELECT"), cmd("SELECT", 1, 2),
    cmd("RESET"), cmd("RESET", "x"),
    cmd("AUTH", "pw"), cmd("AUTH", "wrong"), cmd("AUTH", "default", "pw"),
    cmd("AUTH", "default", "x"), cmd("AUTH", "nobody", "pw"),
    cmd("CLIENT", "SETNAME", "c1"), cmd("CLIENT", "SETNAME", "a b"), cmd("CLIENT", "SETNAME", ""),
    b"SELECT 1\r\n", b"HELLO 3\r\n", b"RESET\r\n",
    # What newer clients send on connect, and what no Redis has (checked before AUTH).
    cmd("CLIENT", "SETINFO", "LIB-NAME", "x"),
    cmd("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"),
    cmd("client", "no\r\nsuch\0sub" + "x" * 200), cmd("NOSUCH", "a\r\nb", "c" * 200, "d"),
    cmd("NO\0SUCH"),
]
SHOW_STEPS = [
    cmd("GET", "k"), cmd("HGETALL", "h"), cmd("CLIENT", "GETNAME"), cmd("PING"),
    cmd("ECHO", "e"), cmd("INCR", "n"), cmd("LRANGE", "l", 0, -1),
]


def state_cases():
    """Sequences of one to three state commands, each followed by commands that show it: every
    single step and every pair, then pseudo-random triples (a fixed seed: the same each run)."""
    import random
    show = b"".join(SHOW_STEPS)
    for a in STATE_STEPS:
        yield f"{a!r}", a + show
    for a in STATE_STEPS:
        for b in STATE_STEPS:
            yield f"{a!r} {b!r}", a + cmd("GET", "k") + b + show
    rnd = random.Random(15)
    for _ in range(300):
        seq = [rnd.choice(STATE_STEPS) for _ in range(3)]
        yield " ".join(repr(x) for x in seq), b"".join(x + rnd.choice(SHOW_STEPS) for x in seq) + show
    # Redis's limits for clients that have not authenticated (10 arguments of 16 KiB at most):
    # at, and one past, each (with requirepass, past them is a protocol error and a close).
    def echo(*args):
        return b"*%d\r\n$4\r\nECHO\r\n" % (len(args) + 1) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    yield "10 arguments", echo(*[b"a"] * 9) + show
    yield "11 arguments", echo(*[b"a"] * 10) + show
    yield "an argument of 16384 bytes", echo(b"x" * 16384) + show
    yield "an argument of 16385 bytes", echo(b"x" * 16385) + show


def state_data(port, password):
    """Every state case starts from the same data: `k` different in db 0, 1 and 15."""
    def run(*args):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            pre = cmd("AUTH", password) if password else b""
            s.sendall(pre + b"".join(cmd(*a) for a in args))
            f = s.makefile("rb")
            for _ in range(len(args) + (1 if password else 0)):
                rg.read_reply(f)
    run(("FLUSHALL",), ("SET", "k", "v0"), ("HSET", "h", "a", "1", "b", "2"),
        ("RPUSH", "l", "x", "y"), ("SELECT", 1), ("SET", "k", "v1"), ("SELECT", 15),
        ("SET", "k", "v15"))


HELLO_ID = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")


def normalise(reply):
    """HELLO's `id` is the connection's id: Redis's own, or the proxy's (CLIENT ID's)."""
    return HELLO_ID.sub(b"$2\r\nid\r\n:ID\r\n", reply[0]), reply[1]


def run_state_suite(rsm, tmp, password):
    """The state suite against one redis-server (with `password` as requirepass, or none) and
    rsm in both modes in front of it: mismatches and cases run."""
    conf = "save \"\"\nappendonly no\n" + (f"requirepass {password}\n" if password else "")
    redis = rg.Server("redis", tmp, conf)
    procs = []
    try:
        rg.wait_until(lambda: _pong(redis.port, password), 10)
        targets = {}
        for mode in ("shared", "dedicated"):
            port = rg.free_port()
            log = open(os.path.join(tmp, f"proxy-state-{mode}-{bool(password)}.log"), "ab")
            argv = [rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master",
                    f"127.0.0.1:{redis.port}", "--backend-mode", mode, "--threads", "1"]
            if password:
                argv += ["--password", password, "--requirepass", password]
            p = rg.spawn(argv, stdout=log, stderr=log)
            procs.append(p)
            assert rg.wait_until(lambda: _pong(port, password), 10), f"rsm proxy ({mode}) did not start"
            targets[mode] = port
        mark = cmd("AUTH", password) if password else b""
        failures = 0
        cases = list(state_cases())
        for name, data in cases:
            state_data(redis.port, password)
            want = normalise(exchange(redis.port, data, mark_prefix=mark))
            for mode, port in targets.items():
                state_data(redis.port, password)
                got = normalise(exchange(port, data, mark_prefix=mark))
                if got != want:
                    failures += 1
                    if failures <= 20:
                        print(f"MISMATCH {mode} (requirepass: {bool(password)}): {name}\n"
                              f"  redis: {want!r}\n  rsm:   {got!r}")
        for p in procs:
            assert p.poll() is None, "a proxy died"
        return failures, len(cases) * len(targets)
    finally:
        for p in procs:
            rg.terminate(p)
        redis.stop()


def _pong(port, password):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall((cmd("AUTH", password) if password else b"") + cmd("PING"))
            f = s.makefile("rb")
            if password:
                rg.read_reply(f)
            return rg.read_reply(f) == "+PONG"
    except (OSError, ConnectionError):
        return False


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def arity_cases():
    """Each command of the generated table with an argument count its arity refuses."""
    refused = set()
    with open(os.path.join(ROOT, "src", "proxy", "commands", "facts.tsv")) as f:
        for line in f:
            cols = line.split()
            if cols and not cols[0].startswith("#") and len(cols) > 1 and cols[1] == "refuse":
                refused.add(cols[0])
    with open(os.path.join(ROOT, "src", "proxy", "commands", "redis-7.0.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, arity = line.split("\t")[:2]
            arity = int(arity)
            parts = name.split("|")
            if name in refused or parts[0] in refused:
                continue
            words = [p.upper() for p in parts]
            counts = [abs(arity) - 1]
            if arity > 0:
                counts.append(arity + 1)
            for n in counts:
                if n < len(words):
                    continue
                args = words + [f"a{i}" for i in range(n - len(words))]
                yield f"{name} with {n} arguments", cmd(*args)


def refused_cases():
    """Refused commands, however their inline line is spaced: the proxy's own refusal."""
    for sep in (b" ", b"\v", b"\f", b"\t"):
        yield b"CONFIG " + sep + b"SET maxmemory-policy noeviction\r\n", b"CONFIG SET"
        yield sep + b"REPLICAOF 127.0.0.1 1\r\n", b"REPLICAOF"
        yield sep + b"sHuTdOwN\r\n", b"SHUTDOWN"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--suite", choices=["inline", "state", "arity", "all"], default="all")
    args = ap.parse_args()

    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="rsm-differential-", dir=root)
    failures = total = 0
    if args.suite in ("state", "all"):
        for password in ("", "pw"):
            f, n = run_state_suite(args.rsm, tmp, password)
            failures += f
            total += n
        print(f"differential (state): {total - failures} passed, {failures} failed")
    if args.suite == "state":
        return 1 if failures else 0
    inline = args.suite in ("inline", "all")
    redis = rg.Server("redis", tmp, "save \"\"\nappendonly no\n")
    procs = []
    try:
        redis.await_ping()
        targets = {}
        for mode in ("shared", "dedicated"):
            port = rg.free_port()
            log = open(os.path.join(tmp, f"proxy-{mode}.log"), "ab")
            p = rg.spawn([args.rsm, "proxy", "--listen", f"127.0.0.1:{port}", "--master",
                          f"127.0.0.1:{redis.port}", "--backend-mode", mode, "--threads", "1"],
                         stdout=log, stderr=log)
            procs.append(p)
            assert rg.wait_until(lambda: rg.command(port, "PING") == "+PONG", 10), \
                f"rsm proxy ({mode}) did not start"
            targets[mode] = port

        cases = list(inline_cases()) if inline else []
        if args.suite in ("arity", "all"):
            cases += list(arity_cases())
        for name, data in cases:
            # Each case starts from the same data: db 0 and 5 empty, the config as it was.
            rg.command(redis.port, "FLUSHALL")
            want = exchange(redis.port, data)
            for mode, port in targets.items():
                rg.command(redis.port, "FLUSHALL")
                got = exchange(port, data)
                if got != want:
                    failures += 1
                    if failures <= 20:
                        print(f"MISMATCH {mode}: {name}: sent {data!r}\n  redis: {want!r}\n"
                              f"  rsm:   {got!r}")
        refused = list(refused_cases()) if inline else []
        for data, name in refused:
            for mode, port in targets.items():
                got, state = exchange(port, data)
                if not got.startswith(b"-ERR command '" + name + b"' is refused"):
                    failures += 1
                    print(f"NOT REFUSED {mode}: sent {data!r}: {got!r}")
        for p in procs:
            assert p.poll() is None, "a proxy died"
        total += (len(cases) + len(refused)) * len(targets)
        print(f"differential: {total - failures} passed, {failures} failed")
        return 1 if failures else 0
    finally:
        for p in procs:
            rg.terminate(p)
        redis.stop()


if __name__ == "__main__":
    sys.exit(main())
