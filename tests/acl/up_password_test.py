#!/usr/bin/python3
"""`rsm up --password-file` end to end: every password path of a password-protected group.

  - the proxy: NOAUTH before AUTH, WRONGPASS for a wrong one, served after AUTH;
  - the nodes want the password (NOAUTH without it) and replicate with it (masterauth);
  - `rsm status --json --password-file` sees a healthy group; `rsm ctl --once --dry-run` with
    it plans nothing; the controller's /status and /metrics answer;
  - the configs rsm up writes are mode 0600, the node directories 0700;
  - the password is in no output, log file, /status, /metrics, status JSON, or process title
    (/proc/PID/cmdline of rsm up and every server it started).

  tests/acl/up_password_test.py --rsm build/test/rsm
"""
import argparse
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import encode, free_port, read_reply, spawn, terminate, wait_until  # noqa: E402

PASSWORD = "up-secret-9c4e1a77b2"


def call(port, *cmds):
    """The replies to `cmds`, sent in order on one connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")
        out = []
        for c in cmds:
            s.sendall(encode(c))
            out.append(read_reply(f))
        f.close()
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    args = ap.parse_args()
    for tool in ("redis-server", "redis-sentinel"):
        if not shutil.which(tool):
            print(f"skipped: {tool} is not installed")
            return 77
    tmp = tempfile.mkdtemp(prefix="rsm-up-password-")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    pw_file = os.path.join(tmp, "password")
    with open(pw_file, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pw_file, 0o600)
    stack = os.path.join(tmp, "stack")
    port = free_port()
    out_path = os.path.join(tmp, "up.out")
    up = spawn([args.rsm, "up", "--port", str(port), "--dir", stack, "--password-file", pw_file,
                "--redis", "2", "--sentinels", "3", "--interval", "1s"],
               stdout=open(out_path, "w"), stderr=subprocess.STDOUT)
    try:
        def banner():
            with open(out_path) as f:
                return re.search(r"rsm status --lainlet (\S+) --ctl (\S+)", f.read())
        assert wait_until(lambda: banner() is not None, 90), open(out_path).read()
        lainlet, ctl = banner().group(1), banner().group(2)

        r = call(port, ["GET", "k"], ["AUTH", "wrong"], ["AUTH", PASSWORD], ["SET", "k", "v"],
                 ["GET", "k"])
        check(r[0] == "-NOAUTH Authentication required.", f"NOAUTH before AUTH: {r[0]}")
        check(r[1].startswith("-WRONGPASS"), f"a wrong password: {r[1]}")
        check(r[2:] == ["+OK", "+OK", "v"], f"served after AUTH: {r[2:]}")

        st = subprocess.run([args.rsm, "status", "--json", "--lainlet", lainlet, "--ctl", ctl,
                             "--password-file", pw_file], capture_output=True, text=True,
                            timeout=30)
        check(st.returncode == 0, f"rsm status with the password: {st.returncode} {st.stderr}")
        doc = json.loads(st.stdout)
        check(doc.get("health") == "healthy", f"status: {doc.get('health')}")
        nodes = [n["address"] for n in doc.get("nodes", [])]
        check(len(nodes) == 2, f"two nodes: {nodes}")
        for addr in nodes:
            p = int(addr.rsplit(":", 1)[1])
            check(call(p, ["PING"])[0].startswith("-NOAUTH"), f"{addr} wants the password")

        def replicated():
            return all(call(int(a.rsplit(":", 1)[1]), ["AUTH", PASSWORD], ["GET", "k"])[1] == "v"
                       for a in nodes)
        check(wait_until(replicated, 10), "the replica has k (masterauth works)")

        dry = subprocess.run([args.rsm, "ctl", "--once", "--dry-run", "--lainlet", lainlet,
                              "--password-file", pw_file, "--http-listen", "", "--no-group-marker"],
                             capture_output=True, text=True, timeout=60)
        check(dry.returncode == 0 and "nothing to do" in dry.stdout,
              f"rsm ctl --dry-run plans nothing: {dry.returncode} {dry.stdout} {dry.stderr}")

        pages = []
        for path in ("/status", "/metrics"):
            pages.append(urllib.request.urlopen(f"http://{ctl}{path}", timeout=5).read().decode())

        for root, dirs, files in os.walk(stack):
            for d in dirs:
                mode = stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode)
                if re.match(r"(redis|sentinel)-\d+$", d):
                    check(mode & 0o077 == 0, f"{d} is mode {oct(mode)}")
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".conf"):
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    check(mode & 0o077 == 0, f"{path} is mode {oct(mode)}")

        titles = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                cwd = ""
            if cwd.startswith(stack) or cmd.startswith(args.rsm + " up"):
                titles.append(cmd)
        check(len(titles) >= 6, f"rsm up and its 5 servers found: {len(titles)}")
        logs = []
        for root, _, files in os.walk(stack):
            for name in files:
                if name.endswith(".log") or name == "log":
                    with open(os.path.join(root, name), errors="replace") as f:
                        logs.append(f.read())
        with open(out_path) as f:
            output = f.read()
        for what, text in [("rsm up's output", output), ("status JSON", st.stdout),
                           ("status stderr", st.stderr), ("ctl --dry-run", dry.stdout + dry.stderr),
                           ("/status", pages[0]), ("/metrics", pages[1]),
                           ("a process title", "\n".join(titles)), ("a server log", "\n".join(logs))]:
            check(PASSWORD not in text, f"the password is in {what}")
        up.send_signal(2)
        check(up.wait(30) == 0, "rsm up stops cleanly on Ctrl-C")
        up = None
    finally:
        if up is not None:
            terminate(up, timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
