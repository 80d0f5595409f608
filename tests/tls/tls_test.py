#!/usr/bin/python3
"""TLS end to end: clients over TLS through `rsm proxy` to redis nodes and sentinels that speak
only TLS (`port 0`, `tls-port`, mutual TLS: `tls-auth-clients yes`), with passwords and an ACL
user for the proxy's backend connections.

Certificates are made here with the openssl CLI: a CA, a server certificate for 127.0.0.1, a
client certificate, and a client certificate from another CA. Checked:
  - redis-cli --tls and redis-py (ssl=True) write and read through the proxy's TLS listener;
    the write is on the master (read back over TLS), made by the proxy's ACL user;
  - a plaintext client on the TLS port gets no reply (and the failure is counted);
  - with --tls-auth-clients yes, a TLS client without a certificate, or with one from another
    CA, is refused;
  - a SENTINEL FAILOVER over TLS sentinels: the proxy follows, writes go on;
  - SIGHUP reloads the listener's certificate: new connections see the new one;
  - rsm status --tls reports the group, rsm ctl --once --dry-run over TLS plans nothing; no password in any log line, metric or status output;
  - bad TLS files (a key of another certificate, a missing file) are one clear usage error.

  tests/tls/tls_test.py --rsm build/test/rsm
"""
import argparse
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from redis_group import MASTER, free_port, spawn, terminate, wait_until  # noqa: E402

PASSWORD = "node-secret-7f3a9c"
PROXY_USER, PROXY_PASSWORD = "rsmproxy", "proxy-secret-41be02"
SENTINEL_PASSWORD = "sentinel-secret-c8d2e6"
SECRETS = [PASSWORD, PROXY_PASSWORD, SENTINEL_PASSWORD]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)


def make_cert(d, ca, name, cn, server):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", cwd=d)
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else
                "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{name}.crt", cwd=d)


class Tls:
    def __init__(self, d):
        self.d = d
        make_ca(d, "ca")
        make_ca(d, "other-ca")
        make_cert(d, "ca", "server", "rsm-test-server", True)
        make_cert(d, "ca", "server2", "rsm-test-server-renewed", True)
        make_cert(d, "ca", "client", "rsm-test-client", False)
        make_cert(d, "other-ca", "stranger", "rsm-test-stranger", False)

    def path(self, name):
        return os.path.join(self.d, name)

    def server_conf(self):
        return (f"tls-cert-file {self.path('server.crt')}\ntls-key-file {self.path('server.key')}\n"
                f"tls-ca-cert-file {self.path('ca.crt')}\ntls-auth-clients yes\n"
                f"tls-replication yes\n")

    def context(self, cert="client", ca="ca.crt"):
        c = ssl.create_default_context(cafile=self.path(ca))
        c.check_hostname = False
        if cert:
            c.load_cert_chain(self.path(f"{cert}.crt"), self.path(f"{cert}.key"))
        return c


def encode(args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def tls_command(tls, port, *args, auth=None, timeout=3.0):
    """One command over a new TLS connection (AUTH first when given); the raw reply line(s)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with tls.context().wrap_socket(raw) as s:
        f = s.makefile("rb")
        if auth:
            s.sendall(encode(["AUTH", *auth]))
            line = f.readline()
            if not line:  # closed (Sentinel kills normal clients as it reconfigures a node)
                raise ConnectionError("closed")
            assert line.startswith(b"+OK"), line
        s.sendall(encode(args))
        return read_reply(f)


def read_reply(f):
    """Bulks as str (None for nil), arrays as lists, other replies as their line."""
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    if line.startswith(b"$"):
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    if line.startswith(b"*"):
        return [read_reply(f) for _ in range(int(line[1:]))]
    return line.rstrip(b"\r\n").decode()


class Node:
    def __init__(self, kind, tmp, tls, conf):
        self.kind, self.port = kind, free_port()
        self.dir = os.path.join(tmp, f"{kind}-{self.port}")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, f"{kind}.conf")
        with open(self.conf, "w") as f:
            f.write(f"port 0\ntls-port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    + tls.server_conf() + conf)
        self.log = os.path.join(self.dir, "log")
        self.proc = spawn(["redis-sentinel" if kind == "sentinel" else "redis-server", self.conf],
                          stdout=open(self.log, "w"), stderr=subprocess.STDOUT)


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1]), text
    return None, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsm", required=True)
    args = ap.parse_args()
    for tool in ("openssl", "redis-server", "redis-sentinel", "redis-cli"):
        if not shutil.which(tool):
            print(f"skipped: {tool} is not installed")
            return 77
    tmp = tempfile.mkdtemp(prefix="rsm-tls-")
    procs = []
    try:
        tls = Tls(tmp)
        acl = (f"requirepass {PASSWORD}\nmasterauth {PASSWORD}\n"
               f"user {PROXY_USER} on >{PROXY_PASSWORD} ~* &* +@all -@dangerous +info +role\n")
        auth = ["default", PASSWORD]
        master = Node("redis", tmp, tls, acl)
        replica = Node("redis", tmp, tls, acl + f"replicaof 127.0.0.1 {master.port}\n")
        procs += [master.proc, replica.proc]
        assert wait_until(lambda: "master_link_status:up" in tls_command(
            tls, replica.port, "INFO", "replication", auth=auth), 20), "the replica did not sync over TLS"
        sentinels = []
        for _ in range(3):
            s = Node("sentinel", tmp, tls,
                     f"requirepass {SENTINEL_PASSWORD}\n"
                     f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 2\n"
                     f"sentinel auth-pass {MASTER} {PASSWORD}\n"
                     f"sentinel down-after-milliseconds {MASTER} 1000\n"
                     f"sentinel failover-timeout {MASTER} 5000\n")
            sentinels.append(s)
            procs.append(s.proc)
        sauth = [SENTINEL_PASSWORD]

        def sentinels_ready():
            for s in sentinels:
                m = tls_command(tls, s.port, "SENTINEL", "MASTER", MASTER, auth=sauth)
                d = dict(zip(m[::2], m[1::2]))
                if int(d.get("num-slaves", 0)) != 1 or int(d.get("num-other-sentinels", 0)) != 2:
                    return False
            return True
        assert wait_until(sentinels_ready, 30), "the TLS sentinels did not find each other"

        # 0. Bad TLS files are one clear usage error each, before anything listens.
        port = free_port()
        for flags, expect in (
                (["--tls-cert-file", tls.path("server.crt"), "--tls-key-file", tls.path("client.key")],
                 "mismatch"),
                (["--tls-cert-file", os.path.join(tmp, "missing.crt"), "--tls-key-file", tls.path("server.key")],
                 "missing.crt"),
                (["--tls-cert-file", tls.path("server.crt")], "--tls-key-file"),
                (["--tls-cert-file", tls.path("server.crt"), "--tls-key-file", tls.path("server.key"),
                  "--tls-auth-clients", "yes"], "--tls-ca-cert-file"),
                (["--tls-cert-file", tls.path("server.crt"), "--tls-key-file", tls.path("server.key"),
                  "--tls-auth-clients", "maybe"], "no, optional or yes")):
            r = subprocess.run([args.rsm, "proxy", "--tls-listen", f"127.0.0.1:{port}", "--master",
                                f"127.0.0.1:{master.port}", *flags], capture_output=True, text=True, timeout=10)
            assert r.returncode == 2 and expect in r.stderr, (flags, r.returncode, r.stderr)
        print("ok: bad TLS files and flags are one clear usage error each")

        secrets = os.path.join(tmp, "secrets")
        os.makedirs(secrets, mode=0o700)
        for name, value in (("password", PROXY_PASSWORD), ("sentinel-password", SENTINEL_PASSWORD)):
            with open(os.path.join(secrets, name), "w") as f:
                f.write(value + "\n")
        os.chmod(os.path.join(secrets, "password"), 0o600)
        os.chmod(os.path.join(secrets, "sentinel-password"), 0o600)
        listen, tls_listen, metrics_port = free_port(), free_port(), free_port()
        listener_cert = os.path.join(tmp, "listener.crt")
        listener_key = os.path.join(tmp, "listener.key")
        shutil.copy(tls.path("server.crt"), listener_cert)
        shutil.copy(tls.path("server.key"), listener_key)
        proxy_log = os.path.join(tmp, "proxy.log")
        client_tls = ["--tls", "--tls-ca-cert-file", tls.path("ca.crt"),
                      "--tls-client-cert-file", tls.path("client.crt"),
                      "--tls-client-key-file", tls.path("client.key")]
        sentinel_list = ",".join(f"127.0.0.1:{s.port}" for s in sentinels)
        proxy = spawn([args.rsm, "proxy", "--listen", f"127.0.0.1:{listen}",
                       "--tls-listen", f"127.0.0.1:{tls_listen}",
                       "--tls-cert-file", listener_cert, "--tls-key-file", listener_key,
                       "--tls-auth-clients", "yes", "--tls-handshake-timeout", "2s",
                       "--sentinels", sentinel_list, "--master-name", MASTER,
                       "--username", PROXY_USER,
                       "--password-file", os.path.join(secrets, "password"),
                       "--sentinel-password-file", os.path.join(secrets, "sentinel-password"),
                       "--metrics-listen", f"127.0.0.1:{metrics_port}", "--threads", "1",
                       *client_tls],
                      stdout=open(proxy_log, "w"), stderr=subprocess.STDOUT)
        procs.append(proxy)

        # 1. redis-cli --tls through the proxy (plain PING on the plain port first).
        cli = ["redis-cli", "--tls", "--cacert", tls.path("ca.crt"), "--cert", tls.path("client.crt"),
               "--key", tls.path("client.key"), "-h", "127.0.0.1", "-p", str(tls_listen)]

        def cli_run(*a):
            return subprocess.run(cli + list(a), capture_output=True, text=True, timeout=10).stdout.strip()
        assert wait_until(lambda: cli_run("SET", "tls:cli", "v1") == "OK", 20), \
            "redis-cli --tls through the proxy: " + open(proxy_log).read()[-2000:]
        assert cli_run("GET", "tls:cli") == "v1"
        assert tls_command(tls, master.port, "GET", "tls:cli", auth=auth) == "v1"
        # The proxy's backend connections are its ACL user's (port 0: there is no plaintext).
        clients = tls_command(tls, master.port, "CLIENT", "LIST", auth=auth)
        assert f"user={PROXY_USER}" in clients, clients
        print("ok: redis-cli --tls writes through the proxy to the TLS master as", PROXY_USER)

        # 2. redis-py with ssl.
        try:
            import redis
        except ImportError:
            redis = None
        if redis is not None:
            r = redis.Redis(host="127.0.0.1", port=tls_listen, ssl=True, ssl_ca_certs=tls.path("ca.crt"),
                            ssl_certfile=tls.path("client.crt"), ssl_keyfile=tls.path("client.key"),
                            ssl_check_hostname=False, socket_timeout=5)
            p = r.pipeline(transaction=False)
            for i in range(100):
                p.set(f"tls:py:{i}", i)
            p.execute()
            assert r.get("tls:py:99") == b"99"
            big = os.urandom(300_000)
            r.set("tls:big", big)
            assert r.get("tls:big") == big
            r.close()
            print("ok: redis-py (ssl=True) pipelines and a 300 kB value through the TLS listener")
        else:
            print("note: redis-py not installed here, its check skipped")

        # 3. Plaintext on the TLS port: no reply; counted.
        with socket.create_connection(("127.0.0.1", tls_listen), timeout=3) as s:
            s.sendall(b"PING\r\n")
            try:
                got = s.recv(100)
            except (socket.timeout, ConnectionResetError):
                got = b""
            assert b"PONG" not in got, got
        assert wait_until(lambda: (metric(metrics_port, "rsm_proxy_tls_handshake_failures_total")[0] or 0) >= 1, 5)
        print("ok: a plaintext client on the TLS port gets no reply, and the failure is counted")

        # 4. --tls-auth-clients yes: no certificate, or one from another CA, is refused.
        for who, ctx in (("no certificate", tls.context(cert=None)), ("another CA's", tls.context(cert="stranger"))):
            refused = False
            try:
                raw = socket.create_connection(("127.0.0.1", tls_listen), timeout=3)
                with ctx.wrap_socket(raw) as s:
                    s.sendall(encode(["PING"]))
                    refused = b"PONG" not in s.recv(100)
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
                refused = True
            assert refused, f"a TLS client with {who} certificate was served"
        # The plain listener still serves (the operator chose to keep it).
        with socket.create_connection(("127.0.0.1", listen), timeout=3) as s:
            s.sendall(b"PING\r\n")
            assert s.recv(100).startswith(b"+PONG")
        print("ok: --tls-auth-clients yes refuses no certificate and a stranger's")

        # 5. Failover over TLS sentinels: the proxy follows, writes go on.
        before = master.port
        assert tls_command(tls, sentinels[0].port, "SENTINEL", "FAILOVER", MASTER, auth=sauth) == "+OK"

        def moved():
            a = tls_command(tls, sentinels[0].port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER, auth=sauth)
            return int(a[1]) != before
        assert wait_until(moved, 30), "the failover did not happen"
        assert wait_until(lambda: cli_run("SET", "tls:after", "v2") == "OK", 20), "writes did not resume"
        assert tls_command(tls, replica.port, "GET", "tls:after", auth=auth) == "v2"
        print("ok: after a failover over TLS sentinels the proxy writes to the new TLS master")

        # 6. SIGHUP reloads the listener's certificate.
        def subject():
            raw = socket.create_connection(("127.0.0.1", tls_listen), timeout=3)
            with tls.context().wrap_socket(raw) as s:
                return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        assert subject() == "rsm-test-server"
        shutil.copy(tls.path("server2.crt"), listener_cert)
        shutil.copy(tls.path("server2.key"), listener_key)
        proxy.send_signal(signal.SIGHUP)
        assert wait_until(lambda: subject() == "rsm-test-server-renewed", 10), "SIGHUP did not reload"
        assert metric(metrics_port, "rsm_proxy_tls_reloads_total")[0] == 1
        print("ok: SIGHUP reloads the listener's certificate for new connections")

        # 7. rsm status over TLS, and no secret anywhere.
        st = subprocess.run([args.rsm, "status", "--sentinels", sentinel_list, "--redis",
                             f"127.0.0.1:{master.port},127.0.0.1:{replica.port}",
                             "--master-name", MASTER, "--json", "--password", PASSWORD,
                             "--sentinel-password", SENTINEL_PASSWORD, *client_tls],
                            capture_output=True, text=True, timeout=30)
        assert f"127.0.0.1:{replica.port}" in st.stdout and '"role"' in st.stdout, st.stdout + st.stderr
        assert "master" in st.stdout
        # rsm ctl over TLS: once the sentinels have made the old master a replica, one dry pass
        # over the healthy group plans nothing.
        assert wait_until(lambda: "master_link_status:up" in tls_command(
            tls, master.port, "INFO", "replication", auth=auth), 30), "the old master did not rejoin"
        ctl = subprocess.run([args.rsm, "ctl", "--once", "--dry-run", "--sentinels", sentinel_list, "--redis",
                              f"127.0.0.1:{master.port},127.0.0.1:{replica.port}", "--master-name", MASTER,
                              "--password", PASSWORD, "--sentinel-password", SENTINEL_PASSWORD,
                              "--no-group-marker", "--http-listen", "", *client_tls],
                             capture_output=True, text=True, timeout=60)
        assert ctl.returncode == 0 and "would " not in ctl.stdout, ctl.stdout + ctl.stderr
        assert "sentinel 3 added" in ctl.stderr, ctl.stderr
        _, text = metric(metrics_port, "rsm_proxy_clients")
        with open(proxy_log) as f:
            log = f.read()
        for secret in SECRETS:
            for where, body in (("proxy log", log), ("metrics", text), ("status", st.stdout + st.stderr),
                                (("ctl", ctl.stdout + ctl.stderr))):
                assert secret not in body, f"a password in the {where}"
        print("ok: rsm status and rsm ctl --dry-run over TLS see the group (nothing to repair); "
              "no password in logs, metrics, status or ctl output")
        # A clean stop (a sanitizer's report at exit would make it fail).
        procs.remove(proxy)
        rc = terminate(proxy)
        assert rc == 0, f"rsm proxy exited with {rc}: " + open(proxy_log).read()[-3000:]
        return 0
    finally:
        for p in procs:
            terminate(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
