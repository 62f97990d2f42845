"""The checks of `authkeep doctor`: each reads the app's variables, asks the server, and records
what is wrong (a problem) or works only in development (a note), with the fix."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

MAX_CLOCK_SKEW = 5  # seconds; workos-python refuses a token whose `iat` is in its future
MIN_COOKIE_PASSWORD = 32
REDIRECT_VARIABLES = (
    "NEXT_PUBLIC_WORKOS_REDIRECT_URI",
    "WORKOS_REDIRECT_URI",
    "VITE_WORKOS_REDIRECT_URI",
)
RANDOM_VALUE_COMMAND = (
    "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
)


@dataclass
class Finding:
    check: str
    problem: str
    fix: str
    is_note: bool = False


@dataclass
class AppSetup:
    """What the app's variables say, whichever SDK's names they use."""

    variables: dict[str, str]
    base_url: str
    client_id: str | None
    api_key: str | None
    cookie_password: str | None
    redirect_uri: str | None
    issuers: list[str]
    is_browser_app: bool
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def read(cls, variables: dict[str, str]) -> AppSetup:
        def first(*names: str) -> str | None:
            return next((variables[n] for n in names if variables.get(n)), None)

        base_url = first("WORKOS_BASE_URL")
        if base_url is None:
            prefix = (
                "VITE_WORKOS_API_" if "VITE_WORKOS_API_HOSTNAME" in variables else "WORKOS_API_"
            )
            host = first(f"{prefix}HOSTNAME") or "api.workos.com"
            https = first(f"{prefix}HTTPS")
            scheme = "https" if https is None or https == "true" else "http"  # authkit-nextjs
            port = first(f"{prefix}PORT")
            base_url = f"{scheme}://{host}" + (f":{port}" if port else "")
        issuers = (first("WORKOS_ISSUER") or "").split(",")
        return cls(
            variables=variables,
            base_url=base_url.rstrip("/"),
            client_id=first("WORKOS_CLIENT_ID", "VITE_WORKOS_CLIENT_ID"),
            api_key=first("WORKOS_API_KEY"),
            cookie_password=first("WORKOS_COOKIE_PASSWORD"),
            redirect_uri=first(*REDIRECT_VARIABLES),
            issuers=[i.strip() for i in issuers if i.strip()],
            is_browser_app=any(name.startswith("VITE_WORKOS_") for name in variables),
        )

    @property
    def is_server_app(self) -> bool:
        return any(n.startswith("WORKOS_") and n != "WORKOS_ISSUER" for n in self.variables)

    def problem(self, check: str, problem: str, fix: str) -> None:
        self.findings.append(Finding(check, problem, fix))

    def note(self, check: str, problem: str, fix: str) -> None:
        self.findings.append(Finding(check, problem, fix, is_note=True))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_server(app: AppSetup, http: Any) -> bool:
    import httpx

    try:
        response = http.get(f"{app.base_url}/healthz")
    except httpx.HTTPError as error:
        app.problem(
            "server",
            f"No server answers at {app.base_url} ({type(error).__name__}).",
            "Start it with `authkeep dev`, or correct WORKOS_API_HOSTNAME, WORKOS_API_PORT and "
            "WORKOS_API_HTTPS (WORKOS_BASE_URL for Python).",
        )
        return False
    server_date = (
        email.utils.parsedate_to_datetime(response.headers.get("date", ""))
        if (response.headers.get("date"))
        else None
    )
    if server_date is not None:
        skew = server_date.timestamp() - time.time()
        if abs(skew) > MAX_CLOCK_SKEW:
            side = "behind" if skew > 0 else "ahead of"
            app.problem(
                "clock",
                f"This machine's clock is {abs(skew):.0f} s {side} the server's: fresh tokens "
                "look issued in the future or already expired.",
                "Synchronize the clocks (e.g. `sudo timedatectl set-ntp true`, or restart the "
                "container or VM whose clock drifted).",
            )
    return True


def check_api_key(app: AppSetup, http: Any) -> dict[str, Any] | None:
    """The API key's environment, as `GET /_authkeep/environment` describes it."""
    if not app.is_server_app:
        return None
    if not app.api_key:
        app.problem(
            "api key",
            "WORKOS_API_KEY is not set: the SDK cannot call the API or exchange codes.",
            "Set WORKOS_API_KEY (`authkeep env` prints the dev key; `authkeep api-keys create` "
            "makes one).",
        )
        return None
    response = http.get(
        f"{app.base_url}/_authkeep/environment",
        headers={"Authorization": f"Bearer {app.api_key}"},
    )
    if response.status_code == 401:
        app.problem(
            "api key",
            f"The server at {app.base_url} refuses WORKOS_API_KEY ({app.api_key[:12]}…): it is "
            "revoked or belongs to another server.",
            "Set WORKOS_API_KEY to a live key of this server (`authkeep api-keys list`, "
            "`authkeep api-keys create`).",
        )
        return None
    return response.json() if response.status_code == 200 else None


def check_client(app: AppSetup, http: Any, environment: dict[str, Any] | None) -> bool:
    expected = environment["client_id"] if environment else None
    fix = f"Set WORKOS_CLIENT_ID={expected}" if expected else "Set it (`authkeep env` prints it)"
    if not app.client_id:
        app.problem("client id", "No client ID: WORKOS_CLIENT_ID is not set.", fix)
        return False
    jwks_url = f"{app.base_url}/sso/jwks/{app.client_id}"
    if http.get(jwks_url).status_code == 404:
        app.problem(
            "client id",
            f"The client ID {app.client_id} is unknown to the server: {jwks_url}, where "
            "backends fetch the signing keys, answers 404.",
            fix,
        )
        return False
    if expected and expected != app.client_id:
        app.problem(
            "client id",
            f"WORKOS_CLIENT_ID ({app.client_id}) and WORKOS_API_KEY belong to different "
            "environments: code exchanges fail with invalid_client.",
            fix + ", the client of the API key's environment.",
        )
        return False
    return True


def check_redirect_uri(app: AppSetup, http: Any) -> None:
    uri = app.redirect_uri
    if not uri:
        names = " or ".join(REDIRECT_VARIABLES)
        app.problem(
            "redirect uri", f"No redirect URI: set {names}.", "Set it to the app's callback URL."
        )
        return
    # An unknown response_type fails after the redirect-URI check: 302 means "registered".
    query = urlencode({"client_id": app.client_id, "redirect_uri": uri, "response_type": "doctor"})
    answer = http.get(f"{app.base_url}/user_management/authorize?{query}")
    if answer.status_code != 302:
        app.problem(
            "redirect uri",
            f"The redirect URI {uri} is not registered: sign-in stops at "
            '"Redirect URI not allowed".',
            f"Register it: authkeep redirect-uris add {uri}",
        )
        return
    if not app.api_key:
        return
    listed = http.get(
        f"{app.base_url}/user_management/redirect_uris",
        headers={"Authorization": f"Bearer {app.api_key}"},
        params={"limit": 100},
    )
    registered = [r["uri"] for r in listed.json().get("data", [])] if listed.is_success else [uri]
    if uri not in registered:
        app.note(
            "redirect uri",
            f"The redirect URI {uri} is accepted only because development environments allow "
            f"loopback callbacks on any port (registered: {', '.join(registered)}).",
            "Register it exactly, as production environments require: "
            f"authkeep redirect-uris add {uri}",
        )


def check_cors(app: AppSetup, http: Any, app_url: str | None) -> None:
    if app_url is None and not (app.is_browser_app and app.redirect_uri):
        return
    origin = _origin(app_url or app.redirect_uri or "")
    answer = http.options(
        f"{app.base_url}/user_management/authenticate",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    if answer.headers.get("access-control-allow-origin") != origin:
        app.problem(
            "cors",
            f"The server does not let pages of {origin} call /user_management/authenticate "
            "(CORS): authkit-js cannot sign in or refresh there.",
            f"Allow the origin: authkeep cors-origins add {origin}",
        )


def check_cookie_password(app: AppSetup) -> None:
    if not app.is_server_app:
        return
    password = app.cookie_password
    if not password:
        app.problem(
            "cookie password",
            "WORKOS_COOKIE_PASSWORD is not set: sessions cannot be sealed into cookies.",
            f"Set it to 32 or more random characters, e.g. {RANDOM_VALUE_COMMAND}",
        )
    elif len(password.encode("utf-16-le")) // 2 < MIN_COOKIE_PASSWORD:
        app.problem(
            "cookie password",
            f"WORKOS_COOKIE_PASSWORD has {len(password)} characters; iron sealing "
            "(authkit-nextjs, @workos-inc/node) needs at least 32.",
            f"Set it to 32 or more random characters, e.g. {RANDOM_VALUE_COMMAND}",
        )


def check_issuer(app: AppSetup, environment: dict[str, Any] | None) -> None:
    if not app.issuers or environment is None:
        return
    issued = environment["issuer"]
    if issued not in app.issuers:
        app.problem(
            "issuer",
            f"Tokens from this server carry iss={issued}, but WORKOS_ISSUER expects "
            f"{', '.join(app.issuers)}: every session fails verification.",
            f"Set WORKOS_ISSUER={issued}",
        )
