"""What the benchmark scripts share: free ports, HAProxy's role:master config, the table helpers."""
import socket
import statistics


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_config(port, servers, server_options="check inter 1s", threads=None):
    """HAProxy in tcp mode in front of `servers` (ports), sending only to one that says
    role:master (the usual Redis health check)."""
    lines = [f"global\n    nbthread {threads}\n" if threads else "",
             "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1h\n    timeout server 1h\n",
             f"frontend redis_in\n    bind 127.0.0.1:{port}\n    default_backend redis_master\n",
             "backend redis_master\n    option tcp-check\n    tcp-check connect\n",
             "    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n",
             "    tcp-check send info\\ replication\\r\\n\n    tcp-check expect string role:master\n",
             "    tcp-check send QUIT\\r\\n\n    tcp-check expect string +OK\n"]
    lines += [f"    server r{i} 127.0.0.1:{p} {server_options}\n" for i, p in enumerate(servers)]
    return "".join(lines)


def spread(values, fmt):
    """median (min–max) of the values that are numbers."""
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return "–"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def write_between_markers(path, name, text):
    """Replaces what lies between <!-- NAME:begin --> and <!-- NAME:end --> in `path`."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    doc = open(path).read()
    i, j = doc.index(begin) + len(begin), doc.index(end)
    with open(path, "w") as f:
        f.write(doc[:i] + "\n" + text + "\n" + doc[j:])
