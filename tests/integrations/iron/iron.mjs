// The Node side of tests/integrations/test_sealing.py. Reads a JSON array of operations on
// stdin, runs each with the real npm packages and prints a JSON array of results, one
// {"ok": value} or {"error": message} per operation.
//
//   session.seal / session.unseal  iron-session 8.0.4 sealData / unsealData (authkit-nextjs 4.3)
//   iron1.seal / iron1.unseal      iron-webcrypto 1.2.1 seal / unseal, no `~2` suffix
//   iron2.seal / iron2.unseal      iron-webcrypto 2.0.0 seal / unseal, no `~2` suffix
//   workos.seal / workos.unseal    @workos-inc/node 11's sealData / unsealData
//                                  (src/common/crypto/seal.ts), on iron-webcrypto 2.0.0
import { webcrypto } from "node:crypto";
import { sealData, unsealData } from "iron-session";
import * as iron1 from "iron-webcrypto";
import * as iron2 from "iron-webcrypto-2";

// @workos-inc/node 11.0.0, src/common/crypto/seal.ts, as bundled in lib/factory-*.mjs.
function parseSeal(seal) {
  const [sealWithoutVersion = "", tokenVersionAsString] = seal.split("~");
  return {
    sealWithoutVersion,
    tokenVersion: tokenVersionAsString == null ? null : parseInt(tokenVersionAsString, 10),
  };
}

async function workosSealData(data, { password }) {
  const seal = await iron2.seal(data, { id: "1", secret: password }, {
    ...iron2.defaults,
    ttl: 0,
    encode: JSON.stringify,
  });
  return `${seal}~2`;
}

async function workosUnsealData(encryptedData, { password }) {
  const { sealWithoutVersion, tokenVersion } = parseSeal(encryptedData);
  let data;
  try {
    data = (await iron2.unseal(sealWithoutVersion, { 1: password }, { ...iron2.defaults, ttl: 0 })) ?? {};
  } catch (error) {
    if (
      error instanceof Error &&
      /^(Expired seal|Bad hmac value|Cannot find password|Incorrect number of sealed components|Wrong mac prefix)/.test(
        error.message,
      )
    ) {
      return {};
    }
    throw error;
  }
  if (tokenVersion === 2) return data;
  else if (tokenVersion !== null) return data.persistent ?? data;
  return data;
}

// options: {ttl (ms), localtimeOffsetMsec} on top of iron's defaults; password: a string or
// {id, secret}; for unseal, a string or a map of id to password.
const ironOptions = (iron, op) => ({
  ...iron.defaults,
  ttl: op.ttl ?? 0,
  localtimeOffsetMsec: op.localtimeOffsetMsec ?? 0,
});

const operations = {
  "session.seal": (op) => sealData(op.data, { password: op.password, ttl: op.ttl }),
  "session.unseal": (op) => unsealData(op.seal, { password: op.password, ttl: op.ttl }),
  "iron1.seal": (op) => iron1.seal(webcrypto, op.data, op.password, ironOptions(iron1, op)),
  "iron1.unseal": (op) => iron1.unseal(webcrypto, op.seal, op.password, ironOptions(iron1, op)),
  "iron2.seal": (op) => iron2.seal(op.data, op.password, ironOptions(iron2, op)),
  "iron2.unseal": (op) => iron2.unseal(op.seal, op.password, ironOptions(iron2, op)),
  "workos.seal": (op) => workosSealData(op.data, { password: op.password }),
  "workos.unseal": (op) => workosUnsealData(op.seal, { password: op.password }),
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const op of JSON.parse(input)) {
  try {
    const run = operations[op.op];
    if (!run) throw new Error(`unknown operation ${op.op}`);
    const value = await run(op);
    results.push({ ok: value === undefined ? null : value });
  } catch (error) {
    results.push({ error: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(JSON.stringify({ node: process.version, results }));
