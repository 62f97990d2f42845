// A minimal single-page app on @workos-inc/authkit-js. tests/browser/test_authkit_js.py serves it
// at http://localhost:<APP_PORT>/ and /callback and injects `window.__authkeepConfig` first.
// Every action is a button and also `window.app.<action>()`, whose result is JSON-friendly and
// is kept in `window.__result` and shown in #result.
import {
  createClient,
  getClaims,
  LoginRequiredError,
  NoSessionError,
  RefreshError,
} from "/vendor/authkit-js.mjs";

const config = window.__authkeepConfig;
const $ = (id) => document.getElementById(id);

window.__refreshes = []; // every onRefresh: the code exchange, automatic refreshes, switches
window.__callbacks = []; // every onRedirectCallback

function describeError(error) {
  let kind = error?.name ?? "Error";
  if (error instanceof LoginRequiredError) kind = "LoginRequiredError";
  else if (error instanceof NoSessionError) kind = "NoSessionError";
  else if (error instanceof RefreshError) kind = "RefreshError";
  return { ok: false, error: kind, message: String(error?.message ?? error) };
}

function show(name, value) {
  window.__result = { name, value };
  $("result").textContent = `${name}\n${JSON.stringify(value ?? null, null, 2)}`;
  return value;
}

function renderStatus() {
  const user = client?.getUser();
  $("status").textContent = user ? `Signed in as ${user.email}` : "Signed out";
}

let client = null;
client = await createClient(config.clientId, {
  apiHostname: config.apiHostname,
  port: config.apiPort,
  https: false,
  redirectUri: config.redirectUri,
  devMode: config.devMode,
  onRefresh: ({ accessToken, organizationId }) => {
    window.__refreshes.push({ accessToken, organizationId: organizationId ?? null });
    renderStatus();
  },
  onRedirectCallback: ({ state, user }) => {
    window.__callbacks.push({ state: state ?? null, userId: user.id });
  },
});

const actions = {
  signIn: () => client.signIn({ state: { from: "sign-in button" } }),
  signUp: () => client.signUp({ state: { from: "sign-up button" } }),
  async getAccessToken() {
    try {
      const token = await client.getAccessToken();
      return { ok: true, token, claims: getClaims(token) };
    } catch (error) {
      return describeError(error);
    }
  },
  getUser: () => client.getUser(),
  async switchToOrganization(organizationId = $("organization-id").value) {
    try {
      await client.switchToOrganization({ organizationId });
    } catch (error) {
      return describeError(error);
    }
    return actions.getAccessToken();
  },
  signOut() {
    try {
      client.signOut();
      return { ok: true };
    } catch (error) {
      return describeError(error);
    }
  },
};

window.app = Object.fromEntries(
  Object.entries(actions).map(([name, action]) => [
    name,
    async (...args) => show(name, await action(...args)),
  ]),
);
for (const button of document.querySelectorAll("button[data-action]")) {
  button.addEventListener("click", () => window.app[button.dataset.action]());
}
renderStatus();
document.body.dataset.ready = "true";
