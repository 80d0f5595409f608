// The client tier's Node.js half (driven by tests/clients/client_tier.py): real ioredis and
// node-redis clients, each with its library's default connect handshake, doing stateless work
// through rsm proxy until told to stop.
//
//   node node_clients.mjs --port P --ioredis N --node-redis N --node-redis-resp2 N
//
// Prints one JSON line {"ready": true} once every client has connected and done a round of
// work; then reads stdin: "stats\n" prints a JSON line of what happened so far, "stop\n" prints
// it and ends. Every client counts its replies, its errors (by message), and its connection
// events (reconnects, closes): through a failover, a stateless client must see none of them.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(process.env.RSM_NODE_MODULES + "/");
const IORedis = require("ioredis");
const { createClient } = require("redis");

function arg(name, dflt) {
  const i = process.argv.indexOf("--" + name);
  return i < 0 ? dflt : process.argv[i + 1];
}
const port = Number(arg("port"));
const counts = {
  ioredis: Number(arg("ioredis", 0)),
  "node-redis": Number(arg("node-redis", 0)),
  "node-redis-resp2": Number(arg("node-redis-resp2", 0)),
};
const PAUSE_MS = 10; // between rounds: 50 clients, a few thousand requests per second

const stats = { ok: 0, errors: {}, reconnects: 0, closes: 0, mismatches: 0, clients: 0 };
let stopping = false;

function countError(e) {
  const m = String(e && e.message ? e.message : e).slice(0, 200);
  stats.errors[m] = (stats.errors[m] || 0) + 1;
}

// One client's work: SET its own key, GET it back (must be what it set), INCR a shared counter.
async function work(name, c, i) {
  const key = `ct:${name}:${i}`;
  for (let n = 0; !stopping; n++) {
    try {
      await c.set(key, String(n));
      const v = await c.get(key);
      if (v !== String(n)) stats.mismatches++;
      await c.incr("ct:counter");
      stats.ok += 3;
    } catch (e) {
      countError(e);
    }
    await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
}

async function ioredisClient(i) {
  // Defaults, but no offline queue: a request while disconnected fails instead of waiting.
  const c = new IORedis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  c.on("reconnecting", () => stats.reconnects++);
  c.on("close", () => { if (!stopping) stats.closes++; });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function nodeRedisClient(i, resp) {
  const opts = { socket: { host: "127.0.0.1", port } };
  if (resp) opts.RESP = resp;
  const c = createClient(opts);
  c.on("reconnecting", () => stats.reconnects++);
  c.on("end", () => { if (!stopping) stats.closes++; });
  c.on("error", () => {});
  await c.connect();
  return c;
}

const clients = [];
for (let i = 0; i < counts.ioredis; i++) clients.push(["ioredis", i, await ioredisClient(i)]);
for (let i = 0; i < counts["node-redis"]; i++)
  clients.push(["node-redis", i, await nodeRedisClient(i, undefined)]);
for (let i = 0; i < counts["node-redis-resp2"]; i++)
  clients.push(["node-redis-resp2", i, await nodeRedisClient(i, 2)]);
stats.clients = clients.length;

const loops = clients.map(([name, i, c]) => work(name, c, i));
// Ready once every client has done a round.
while (stats.ok < clients.length * 3) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ ready: true, versions: {
  ioredis: require("ioredis/package.json").version,
  redis: require("redis/package.json").version } }));

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line === "stats") console.log(JSON.stringify(stats));
  if (line === "stop") break;
}
stopping = true;
await Promise.all(loops);
console.log(JSON.stringify(stats));
for (const [, , c] of clients) {
  try { await c.quit(); } catch (e) { /* closing anyway */ }
}
process.exit(0);
