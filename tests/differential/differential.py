#!/usr/bin/env python3
"""Differential tier: the same byte streams to redis-server directly and through `rsm proxy`
(shared and dedicated mode), the replies compared byte for byte.

Each case runs on a fresh connection to each target: its bytes, then a marker command (ECHO of
a unique string, RESP-framed), and everything the target sends until the marker's reply, or
until it closes the connection (a protocol error). The answers the proxy documents as its own
(refusals, docs/proxy.md) are checked on their own.

Suites:
  inline     every byte 0-255 as a separator and inside tokens of inline commands
             (the only suite so far: `all` runs it too)

Usage: tests/differential/differential.py --rsm build/test/rsm [--suite inline]
"""
import argparse
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import redis_group as rg  # noqa: E402

MARK = b"rsm-differential-end"
MARK_CMD = rg.encode([b"ECHO", MARK])
MARK_REPLY = b"$%d\r\n%s\r\n" % (len(MARK), MARK)


def exchange(port, data, timeout=1.0):
    """What the server at `port` sends for `data` followed by the marker (the marker's reply
    itself left out), and whether it closed the connection or still waits (Redis waits, for
    one, on an inline line with a NUL: `timeout` is how long a silence means that)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data + MARK_CMD)
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


def refused_cases():
    """Refused commands, however their inline line is spaced: the proxy's own refusal."""
    for sep in (b" ", b"\v", b"\f", b"\t"):
        yield b"CONFIG " + sep + b"SET maxmemory-policy noeviction\r\n", b"CONFIG SET"
        yield sep + b"REPLICAOF 127.0.0.1 1\r\n", b"REPLICAOF"
        yield sep + b"sHuTdOwN\r\n", b"SHUTDOWN"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    ap.add_argument("--suite", choices=["inline", "all"], default="all")
    args = ap.parse_args()

    root = os.environ.get("RSM_TEST_ROOT", tempfile.gettempdir())
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="rsm-differential-", dir=root)
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

        cases = list(inline_cases())
        failures = 0
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
        refused = list(refused_cases())
        for data, name in refused:
            for mode, port in targets.items():
                got, state = exchange(port, data)
                if not got.startswith(b"-ERR command '" + name + b"' is refused"):
                    failures += 1
                    print(f"NOT REFUSED {mode}: sent {data!r}: {got!r}")
        for p in procs:
            assert p.poll() is None, "a proxy died"
        total = (len(cases) + len(refused)) * len(targets)
        print(f"differential: {total - failures} passed, {failures} failed")
        return 1 if failures else 0
    finally:
        for p in procs:
            rg.terminate(p)
        redis.stop()


if __name__ == "__main__":
    sys.exit(main())
