// Load generator for bench/grants.py: autocannon POSTs whose bodies come from a pool of single-use
// values (refresh tokens, authorization codes), one fresh value per request, never one twice.
//
// Usage: node bench/load_grants.mjs < config.json, where config.json is one object:
//   {"url": "...", "connections": 16, "seconds": 10, "warmup": 1,
//    "peer_dir": "/abs/dir/with/node_modules",
//    "content_type": "application/json",
//    "template": "{\"grant_type\":\"refresh_token\",...,\"refresh_token\":\"{value}\"}",
//    "pool_file": "/abs/pool.txt"          (one value per line), or
//    "pool_url": "http://127.0.0.1:P/pool?n=N"  (fetched before the clock starts),
//    "spent_value": "pool-exhausted"}      (sent, once the pool is used up, instead of reusing)
// autocannon is loaded from peer_dir's node_modules, as bench/load.mjs does. The warm-up and the
// measured run draw from the same pool. Pool values are inserted into the template as they are,
// so they must not need escaping (base64url tokens and codes do not).
//
// When the pool runs out, the run stops at its next one-second tick and every request built after
// the last value carries `spent_value` (an invalid token: a cheap 4xx that revokes nothing);
// `exhausted` counts them, and the caller should rerun with a larger pool.
//
// Prints `{"phase":"measure"}` when the measured run starts (so a caller can start concurrent work
// in step with it), then one JSON line: rps (mean req/s over all responses), ok_rps, total,
// p50/p99 latency in ms (2xx responses, as autocannon records them), non2xx, errors, timeouts,
// status (count per HTTP status), ticks (responses in each second of the measured run), pool (size),
// used (values handed out, warm-up included), exhausted, and warmup_rps (req/s during warm-up).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const config = await readStdin();
const autocannon = createRequire(join(config.peer_dir, 'package.json'))('autocannon');

let text;
if (config.pool_file) {
  text = readFileSync(config.pool_file, 'utf8');
} else {
  const response = await fetch(config.pool_url);
  if (!response.ok) throw new Error(`pool ${config.pool_url} answered ${response.status}`);
  text = await response.text();
}
const pool = text.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
const [before, after] = config.template.split('{value}');
if (after === undefined) throw new Error('template has no {value} placeholder');
const spent = config.spent_value || 'pool-exhausted';

let next = 0;
let exhausted = 0;
let current = null; // the running autocannon instance, stopped when the pool runs out

function setupRequest(request) {
  let value;
  if (next < pool.length) {
    value = pool[next++];
  } else {
    value = spent;
    exhausted += 1;
    if (current) current.stop();
  }
  return { ...request, body: before + value + after };
}

const base = {
  url: config.url,
  connections: Number(config.connections),
  pipelining: 1,
  method: 'POST',
  headers: { 'content-type': config.content_type, ...(config.headers || {}) },
  requests: [{ setupRequest }],
};

async function drive(seconds, ticks) {
  current = autocannon({ ...base, duration: seconds });
  if (exhausted > 0) current.stop(); // the pool ran out while the connections were set up
  if (ticks) {
    const start = Date.now();
    current.on('response', () => {
      const second = Math.floor((Date.now() - start) / 1000);
      while (ticks.length <= second) ticks.push(0);
      ticks[second] += 1;
    });
  }
  const result = await current;
  current = null;
  return result;
}

let warmupRps = null;
if (Number(config.warmup) > 0) {
  const w = await drive(Number(config.warmup), null);
  warmupRps = w.requests.mean;
}
const ticks = [];
console.log(JSON.stringify({ phase: 'measure' }));
const r = exhausted > 0 ? null : await drive(Number(config.seconds), ticks);

const status = {};
for (const [code, { count }] of Object.entries((r && r.statusCodeStats) || {})) status[code] = count;
console.log(JSON.stringify({
  url: config.url,
  connections: base.connections,
  seconds: r ? r.duration : 0,
  rps: r ? Math.round(r.requests.mean) : 0,
  ok_rps: r && r.duration ? Math.round(r['2xx'] / r.duration) : 0,
  total: r ? r.requests.total : 0,
  p50: r ? r.latency.p50 : 0,
  p99: r ? r.latency.p99 : 0,
  non2xx: r ? r.non2xx : 0,
  errors: r ? r.errors : 0,
  timeouts: r ? r.timeouts : 0,
  status,
  ticks,
  pool: pool.length,
  used: next,
  exhausted,
  warmup_rps: warmupRps,
}));
