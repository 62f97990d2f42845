// Load generator for bench/api.py: autocannon with request headers and a warm-up phase.
//
// Usage: node bench/load.mjs < config.json, where config.json is one object:
//   {"url": "...", "connections": 64, "seconds": 10, "warmup": 1,
//    "headers": {"authorization": "Bearer ..."}, "peer_dir": "/abs/dir/with/node_modules"}
// autocannon is loaded from peer_dir's node_modules (the copied node-oidc-provider peer lists it),
// so every case, peer included, is driven by the same tool and the same version.
//
// Prints one JSON line: rps (mean req/s over all responses), ok_rps (2xx per second), total,
// p50/p99 latency in ms (2xx responses only, as autocannon records them), non2xx, errors
// (connection errors), timeouts and status (count per HTTP status code).
import { createRequire } from 'node:module';
import { join } from 'node:path';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const config = await readStdin();
const autocannon = createRequire(join(config.peer_dir, 'package.json'))('autocannon');

const base = {
  url: config.url,
  connections: Number(config.connections),
  pipelining: 1,
  headers: config.headers || {},
};

if (Number(config.warmup) > 0) {
  await autocannon({ ...base, duration: Number(config.warmup) });
}
const r = await autocannon({ ...base, duration: Number(config.seconds) });

const status = {};
for (const [code, { count }] of Object.entries(r.statusCodeStats || {})) status[code] = count;
console.log(JSON.stringify({
  url: config.url,
  connections: base.connections,
  seconds: r.duration,
  rps: Math.round(r.requests.mean),
  ok_rps: Math.round(r['2xx'] / r.duration),
  total: r.requests.total,
  p50: r.latency.p50,
  p99: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  status,
}));
