// Builds the official @workos-inc/node client from nothing but an .env file written by
// `authkeep env --framework next|node --write FILE`, the way authkit-nextjs does (src/workos.ts),
// and uses it: run as `node --env-file=FILE env_file.mjs` by tests/node/test_env_file.py.
//
// AUTHKEEP_SEALED_SESSION (from `authkeep token mint --sealed`) is the only other input; the
// result is ONE JSON object on stdout.

import { WorkOS } from '@workos-inc/node';

const env = process.env;
const workos = new WorkOS(env.WORKOS_API_KEY, {
  apiHostname: env.WORKOS_API_HOSTNAME,
  https: env.WORKOS_API_HTTPS ? env.WORKOS_API_HTTPS === 'true' : true,
  port: env.WORKOS_API_PORT ? parseInt(env.WORKOS_API_PORT, 10) : undefined,
});
const users = workos.userManagement;

const listed = await users.listUsers({ limit: 100 });
const session = users.loadSealedSession({
  sessionData: input('AUTHKEEP_SEALED_SESSION'),
  cookiePassword: env.WORKOS_COOKIE_PASSWORD,
});
const authenticated = await session.authenticate();

console.log(
  JSON.stringify({
    node: process.version,
    baseURL: workos.baseURL,
    clientId: workos.clientId,
    jwksUrl: users.getJwksUrl(workos.clientId),
    emails: listed.data.map((user) => user.email),
    redirectUri: env.NEXT_PUBLIC_WORKOS_REDIRECT_URI ?? env.WORKOS_REDIRECT_URI ?? null,
    authenticated: authenticated.authenticated,
    reason: authenticated.reason ?? null,
    userId: authenticated.user?.id ?? null,
    sessionId: authenticated.sessionId ?? null,
    organizationId: authenticated.organizationId ?? null,
    role: authenticated.role ?? null,
  }),
);

function input(name) {
  const value = env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}
