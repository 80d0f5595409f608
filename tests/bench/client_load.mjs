// A bounded load of real clients for tests/bench/proxy_bench.py: N connections of ioredis or
// node-redis, each with its library's connect handshake (CLIENT SETINFO lib-name/lib-ver, and
// CLIENT SETNAME from a connection name; node-redis with --resp 3 also HELLO 3), then SET and GET
// in turn, one request in flight per connection (as redis-benchmark -P 1), until `--requests`
// replies in all or `--timeout` seconds.
//
//   RSM_NODE_MODULES=DIR node client_load.mjs --port P --lib ioredis|node-redis [--resp 2|3]
//       [--clients 50] [--requests 200000] [--timeout 120]
//
// Prints one JSON line: {"requests", "seconds", "rps", "p50_ms", "p99_ms", "errors"}.
import { createRequire } from "node:module";

const require = createRequire(process.env.RSM_NODE_MODULES + "/");

function arg(name, dflt) {
  const i = process.argv.indexOf("--" + name);
  return i < 0 ? dflt : process.argv[i + 1];
}
const port = Number(arg("port"));
const lib = arg("lib", "ioredis");
const resp = Number(arg("resp", 2));
const clients = Number(arg("clients", 50));
const total = Number(arg("requests", 200000));
const timeoutMs = Number(arg("timeout", 120)) * 1000;

async function connect(i) {
  const name = `bench-${i}`;
  if (lib === "ioredis") {
    const IORedis = require("ioredis");
    const c = new IORedis({ host: "127.0.0.1", port, connectionName: name, lazyConnect: true,
                            maxRetriesPerRequest: 0 });
    await c.connect();
    return { set: (k, v) => c.set(k, v), get: (k) => c.get(k), quit: () => c.quit() };
  }
  const { createClient } = require("redis");
  const c = createClient({ socket: { host: "127.0.0.1", port, reconnectStrategy: false },
                           name, RESP: resp });
  c.on("error", () => {});
  await c.connect();
  return { set: (k, v) => c.set(k, v), get: (k) => c.get(k), quit: () => c.quit() };
}

const conns = await Promise.all(Array.from({ length: clients }, (_, i) => connect(i)));
const latencies = new Float64Array(total);
let issued = 0;
let done = 0;
let errors = 0;
const started = process.hrtime.bigint();
const deadline = Date.now() + timeoutMs;

async function loop(c, i) {
  for (;;) {
    const n = issued++;
    if (n >= total || Date.now() > deadline) return;
    const key = `key:${(n * 7919) % 100000}`;
    const t0 = process.hrtime.bigint();
    try {
      if (n % 2 === 0) await c.set(key, "xxx");
      else await c.get(key);
    } catch {
      errors++;
    }
    latencies[done++] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
}

await Promise.all(conns.map((c, i) => loop(c, i)));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
console.log(JSON.stringify({ requests: done, seconds, rps: done / seconds, p50_ms: pct(0.5),
                             p99_ms: pct(0.99), errors }));
await Promise.all(conns.map((c) => c.quit().catch(() => {})));
process.exit(0);
