"""Token-endpoint benchmark: refresh and code-exchange grants beside node-oidc-provider, the cost of
minting an access token, the memory of an idle worker, and password sign-in against bare argon2id.

Every HTTP case starts a real `authkeep serve`, builds its pools of single-use values (refresh
tokens, authorization codes) through the server's own hosted sign-in and code flow (not
measured), warms it up for `--warmup` seconds and drives it for `--seconds` from a separate load
process (autocannon, via bench/load_grants.mjs) with `--connections` connections, one fresh pool
value per request, then stops the server's whole process group. The cases, per database and
worker count:

  refresh    POST /user_management/authenticate, grant_type=refresh_token
  code       POST /user_management/authenticate, grant_type=authorization_code
  burst      the refresh case again, while `--burst` password sign-ins stay in flight
  password   `--password-rounds` sequential password sign-ins, each beside one bare argon2id
             verify in this process
  rss        VmRSS of each uvicorn worker after startup, after one request (a password sign-in)
             and once idle after the load

and, once per run: node-oidc-provider's refresh grant (the peer, one node process, its own token
pool) before each database's cases and at the end, so its drift on a shared machine shows; and,
in this process, raw RS256 signs against `authkeep.crypto.jwt.encode` of a realistic claims set.

It prints figures and ratios and never asserts on them: absolute numbers swing between runs on a
shared machine, so only ratios inside one run mean anything. Exit status is 0 unless the bench
itself could not run.

    .venv/bin/python bench/grants.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api import (  # bench/ is on sys.path when this file runs as a script
    BENCH_DIR,
    DEFAULT_PEER_SOURCE,
    DEFAULT_POSTGRES_URL,
    HOST,
    PEER_CACHE,
    BenchError,
    Server,
    authkeep_command,
    authkeep_env,
    ensure_peer,
    fmt_ms,
    fmt_ratio,
    free_port,
    http_request,
    postgres_execute,
    progress,
    ratio,
    render_table,
    run_cli,
    running,
    with_query,
)

AUTHENTICATE = "/user_management/authenticate"
REDIRECT_URI = "http://localhost:3000/callback"
PEER_SECRET = "bench-secret-bench-secret-bench-secret-0001"  # the peer's fixture
SPENT = "pool-exhausted"  # sent once a pool is used up: an unknown token, a cheap 400
# Codes are spread over this many users, each signed in once in the hosted pages: a code
# exchange records the user's sign-in time, so one user for all would make one hot row.
USER_COUNT = 64
USER_PASSWORD = "bench-Password-4711"  # a throwaway bench account
BUILD_CONCURRENCY = 16
PILOT_POOL = 2000  # a code exchange takes ~1 ms: a smaller pool runs dry within the pilot
PILOT_REFRESH_POOL = 4000  # copies are cheap, and a refresh pilot must not run dry
PILOT_SECONDS = 1.0
PILOT_WARMUP = 0.5  # a cold server (connection pools, caches) runs at half speed at first
POOL_SAFETY = 1.6
IDLE_AFTER_LOAD_SECONDS = 8.0  # longer than a worker's idle trim (5 s) after the last sign-in

# argon2id as authkeep configures it (OWASP: m=19 MiB, t=2, p=1).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1

TARGET_PG_VS_PEER = 1.0
TARGET_SQLITE_VS_PEER = 0.5
TARGET_MINT_VS_SIGN = 1.3
TARGET_RSS_MB = 72.0
TARGET_PASSWORD_VS_ARGON2 = 1.15


# load generator -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    connections: int
    burst: int
    password_rounds: int
    max_pool: int


@dataclass(frozen=True)
class GrantLoad:
    rps: float
    total: int
    p50: float
    p99: float
    non2xx: int
    errors: int
    timeouts: int
    status: dict[str, int]
    ticks: list[int]
    pool: int
    used: int
    exhausted: int

    @property
    def failures(self) -> int:
        return self.non2xx + self.errors + self.timeouts

    @property
    def slowest_second(self) -> int | None:
        # The last second is cut short by the stop, so it is left out.
        full = self.ticks[:-1] if len(self.ticks) > 1 else self.ticks
        return min(full) if full else None


def run_grant_load(
    url: str,
    *,
    template: str,
    content_type: str,
    connections: int,
    seconds: float,
    warmup: float,
    pool_file: Path | None = None,
    pool_url: str | None = None,
    on_measure: Callable[[], None] | None = None,
) -> GrantLoad:
    """Drive `url` with POSTs built from `template` and a pool (bench/load_grants.mjs)."""
    config = {
        "url": url,
        "connections": connections,
        "seconds": seconds,
        "warmup": warmup,
        "peer_dir": str(PEER_CACHE),
        "content_type": content_type,
        "template": template,
        "pool_file": str(pool_file) if pool_file else None,
        "pool_url": pool_url,
        "spent_value": SPENT,
    }
    process = subprocess.Popen(
        ["node", str(BENCH_DIR / "load_grants.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(seconds + warmup + 120, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(config))
        process.stdin.close()
        for line in process.stdout:
            lines.append(line)
            if on_measure is not None and line.strip() == '{"phase":"measure"}':
                on_measure()
        stderr = process.stderr.read() if process.stderr else ""
        returncode = process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    results = [line for line in lines if line.strip() and '"phase"' not in line]
    if returncode != 0 or not results:
        raise BenchError(f"load generator failed ({returncode}): {stderr.strip()[-500:]}")
    raw = json.loads(results[-1])
    return GrantLoad(
        rps=float(raw["rps"]),
        total=int(raw["total"]),
        p50=float(raw["p50"]),
        p99=float(raw["p99"]),
        non2xx=int(raw["non2xx"]),
        errors=int(raw["errors"]),
        timeouts=int(raw["timeouts"]),
        status={str(k): int(v) for k, v in raw["status"].items()},
        ticks=[int(t) for t in raw["ticks"]],
        pool=int(raw["pool"]),
        used=int(raw["used"]),
        exhausted=int(raw["exhausted"]),
    )


# authkeep: provisioning, pools ----------------------------------------------------------------


@dataclass
class Deployment:
    backend: str
    database_url: str
    env: dict[str, str]
    environment_id: str = ""
    client_id: str = ""
    api_key: str = ""
    users: list[str] = field(default_factory=list)  # e-mails, all with USER_PASSWORD
    cookies: list[str] = field(default_factory=list)  # a hosted-session `Cookie` per user
    template_sessions: list[str] = field(default_factory=list)  # copied into refresh pools

    def grant_body(self, grant_type: str, **fields: str) -> dict[str, str]:
        return {
            "grant_type": grant_type,
            "client_id": self.client_id,
            "client_secret": self.api_key,
            **fields,
        }

    def template(self, grant_type: str, field_name: str) -> str:
        body = json.dumps(self.grant_body(grant_type, **{field_name: "VALUE"}))
        return body.replace('"VALUE"', '"{value}"')


def authkeep_server(deployment: Deployment, workers: int, port: int) -> Server:
    return Server(
        name=f"grants-authkeep-{deployment.backend}-w{workers}",
        argv=[
            *authkeep_command(),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        ready_url=f"http://{HOST}:{port}/healthz",
        env=deployment.env,
    )


def provision(deployment: Deployment) -> None:
    """Migrate, create a development environment with the bench redirect URI, and its users."""
    run_cli(["migrate"], deployment.env)
    out = run_cli(["environments", "create", "bench", "--kind", "development"], deployment.env)
    values: dict[str, str] = {}
    for name in ("environment_id", "client_id", "api_key"):
        found = re.search(rf"{name}\s+(\S+)", out)
        if found is None:
            raise BenchError(f"unexpected `authkeep environments create` output: {out!r}")
        values[name] = found.group(1)
    deployment.environment_id = values["environment_id"]
    deployment.client_id = values["client_id"]
    deployment.api_key = values["api_key"]
    run_cli(["redirect-uris", "add", REDIRECT_URI, "--env", "bench"], deployment.env)
    # The users are created and signed in to the hosted pages on a server of their own, so that
    # every measured server's first request (the one the RSS figure follows) is a sign-in.
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = authkeep_server(deployment, 1, port)
    server.name = f"grants-authkeep-{deployment.backend}-setup"
    with running(server):
        for index in range(USER_COUNT):
            email = f"bench{index}@example.com"
            status, body = http_request(
                "POST",
                f"{base}/user_management/users",
                headers={"Authorization": f"Bearer {deployment.api_key}"},
                body={"email": email, "password": USER_PASSWORD, "email_verified": True},
                timeout=30,
            )
            if status not in (200, 201):
                raise BenchError(f"creating {email} answered {status}: {body}")
            deployment.users.append(email)
        deployment.cookies = [hosted_sign_in(base, deployment, email) for email in deployment.users]


def hosted_sign_in(base: str, deployment: Deployment, email: str) -> str:
    """Sign in once through the hosted pages; the `Cookie` header of that browser session."""
    import httpx

    authorize = (
        f"{base}/user_management/authorize?client_id={deployment.client_id}"
        f"&redirect_uri={REDIRECT_URI}&response_type=code&provider=authkit"
    )
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        first = client.get(authorize)
        if first.status_code != 302 or "/authkit/sign-in" not in first.headers.get("location", ""):
            raise BenchError(f"authorize answered {first.status_code}: {first.text[:300]}")
        page = client.get(base + first.headers["location"])
        fields = dict(re.findall(r'name="(request|csrf_token)" value="([^"]+)"', page.text))
        if page.status_code != 200 or len(fields) != 2:
            raise BenchError(f"the sign-in page answered {page.status_code}: {page.text[:300]}")
        done = client.post(
            f"{base}/authkit/sign-in",
            data={**fields, "email": email, "password": USER_PASSWORD},
        )
        location = done.headers.get("location", "")
        code = re.search(r"[?&]code=([^&]+)", location)
        name = f"authkeep-session-{deployment.environment_id}"
        cookie = done.cookies.get(name)
        if done.status_code != 302 or not code or not cookie:
            raise BenchError(f"the sign-in form answered {done.status_code}: {done.text[:300]}")
    return f"{name}={cookie}"


async def _in_parallel(
    count: int, concurrency: int, one: Callable[[Any], Any], base: str
) -> tuple[list[str], list[str]]:
    """Run `one(client)` `count` times, `concurrency` at a time: (values, problems)."""
    import httpx

    values: list[str] = []
    problems: list[str] = []
    remaining = count
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                try:
                    values.append(await one(client))
                except (BenchError, httpx.HTTPError) as error:
                    problems.append(f"{type(error).__name__}: {error}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return values, problems


@dataclass
class PoolBuilder:
    """Single-use values made through the server itself, before the clock starts. What failed
    while building is noted: such answers are authkeep's too."""

    base: str
    deployment: Deployment
    label: str
    notes: list[str]

    def _note(self, what: str, count: int, problems: list[str]) -> None:
        if problems:
            kinds: dict[str, int] = {}
            for problem in problems:
                status = re.search(r"answered (\d+)", problem)
                kind = status.group(1) if status else problem.split(":", 1)[0]
                kinds[kind] = kinds.get(kind, 0) + 1
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
            message = (
                f"{self.label}: {len(problems)} of {count} {what} failed ({counts}), "
                f"e.g. {problems[0][:300]}"
            )
            progress(f"  NOTE: {message}")
            self.notes.append(f"pool building, {message}")

    def codes(self, count: int) -> list[str]:
        """`count` authorization codes: one authorize GET each with a hosted-session cookie,
        the users taking turns."""
        cookies = itertools.cycle(self.deployment.cookies)
        url = (
            f"/user_management/authorize?client_id={self.deployment.client_id}"
            f"&redirect_uri={REDIRECT_URI}&response_type=code&provider=authkit"
        )

        async def one(client: Any) -> str:
            response = await client.get(url, headers={"Cookie": next(cookies)})
            code = re.search(r"[?&]code=([^&]+)", response.headers.get("location", ""))
            if response.status_code != 302 or not code:
                raise BenchError(
                    f"authorize answered {response.status_code}: {response.text[:200]}"
                )
            return code.group(1)

        codes, problems = asyncio.run(_in_parallel(count, BUILD_CONCURRENCY, one, self.base))
        self._note("authorize requests", count, problems)
        if len(codes) < count * 0.9:
            raise BenchError(f"only {len(codes)} of {count} codes could be made: {problems[:1]}")
        return codes

    def refresh_tokens(self, count: int) -> list[str]:
        """`count` refresh tokens of `count` sessions. One session per user is made through the
        server (an authorize, a code exchange); the rest are copies of those rows, each with a
        refresh token of its own, written to the database directly: a refresh of a copy is the
        same work as a refresh of the original, and building 20,000 sessions through the
        server took minutes per case."""
        if count <= USER_COUNT * 2:
            return self.exchanged_refresh_tokens(count)
        templates = self._template_sessions()
        tokens = [secrets.token_urlsafe(32) for _ in range(count)]
        clone_sessions(self.deployment, templates, tokens)
        return tokens

    def _template_sessions(self) -> list[str]:
        """A session made through the server per user: the IDs of their rows."""
        if not self.deployment.template_sessions:
            made = self.exchanged_refresh_tokens(USER_COUNT)  # the users take turns
            self.deployment.template_sessions = session_ids_of(self.deployment, made)
        return self.deployment.template_sessions

    def exchanged_refresh_tokens(self, count: int) -> list[str]:
        """`count` refresh tokens of `count` sessions: a code each, exchanged."""
        codes = self.codes(count)
        pending = iter(codes)

        async def one(client: Any) -> str:
            body = self.deployment.grant_body("authorization_code", code=next(pending))
            response = await client.post(AUTHENTICATE, json=body)
            if response.status_code != 200:
                raise BenchError(f"code exchange answered {response.status_code}: {response.text}")
            return str(response.json()["refresh_token"])

        tokens, problems = asyncio.run(_in_parallel(len(codes), BUILD_CONCURRENCY, one, self.base))
        self._note("code exchanges", len(codes), problems)
        if len(tokens) < count * 0.9:
            raise BenchError(f"only {len(tokens)} of {count} refresh tokens: {problems[:1]}")
        return tokens


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_ids_of(deployment: Deployment, refresh_tokens: Sequence[str]) -> list[str]:
    hashes = [_hash(token) for token in refresh_tokens]
    rows = _database(
        deployment,
        "SELECT session_id FROM refresh_tokens WHERE token_hash = ?",
        [(h,) for h in hashes],
        fetch=True,
    )
    if len(rows) != len(hashes):
        raise BenchError(f"found {len(rows)} of {len(hashes)} template sessions")
    return [row[0] for row in rows]


def clone_sessions(deployment: Deployment, templates: Sequence[str], tokens: Sequence[str]) -> None:
    """A copy of a template session (the templates taking turns) per token, with the token as
    its active refresh token, straight into the database."""
    from authkeep.store.models import Session

    # Every column but the key, from the model, so a copy stays whole when the schema grows.
    columns = ", ".join(c.name for c in Session.__table__.columns if c.name != "id")
    copy = f"INSERT INTO sessions (id, {columns}) SELECT ?, {columns} FROM sessions WHERE id = ?"
    token = (
        "INSERT INTO refresh_tokens (id, environment_id, session_id, token_hash, status, "
        "created_at) SELECT ?, environment_id, ?, ?, 'active', created_at FROM sessions "
        "WHERE id = ?"
    )
    sessions, refresh = [], []
    for index, value in enumerate(tokens):
        session_id = f"session_bench{secrets.token_hex(12)}"
        sessions.append((session_id, templates[index % len(templates)]))
        refresh.append(
            (f"refresh_token_bench{secrets.token_hex(12)}", session_id, _hash(value), session_id)
        )
    _database(deployment, copy, sessions)
    _database(deployment, token, refresh)


def _database(
    deployment: Deployment, statement: str, rows: list[tuple[Any, ...]], fetch: bool = False
) -> list[Any]:
    """Run `statement` (`?` placeholders) once per row in one transaction on the bench's
    database: a SQLite file or the PostgreSQL schema."""
    if deployment.backend == "sqlite":
        import sqlite3

        path = deployment.database_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path, timeout=30)
        try:
            if fetch:
                return [connection.execute(statement, row).fetchone() for row in rows]
            with connection:
                connection.executemany(statement, rows)
            return []
        finally:
            connection.close()

    async def run() -> list[Any]:
        import asyncpg

        url, _, query = deployment.database_url.partition("?")
        schema = dict(part.split("=", 1) for part in query.split("&") if part).get("schema")
        numbered = statement
        for index in range(statement.count("?")):
            numbered = numbered.replace("?", f"${index + 1}", 1)
        connection = await asyncpg.connect(
            url, server_settings={"search_path": schema} if schema else None
        )
        try:
            if fetch:
                return [await connection.fetchrow(numbered, *row) for row in rows]
            async with connection.transaction():
                await connection.executemany(numbered, rows)
            return []
        finally:
            await connection.close()

    return asyncio.run(run())


def write_pool(values: Sequence[str], name: str, directory: Path) -> Path:
    path = directory / f"{name}.txt"
    path.write_text("\n".join(values) + "\n")
    return path


# password sign-in burst -----------------------------------------------------------------------


@dataclass
class Burst:
    """Password sign-ins kept in flight from a thread of their own until `stop()`."""

    base: str
    deployment: Deployment
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.ended = self.ended or time.perf_counter()

    async def _run(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.base, timeout=60, limits=limits) as client:

            async def worker(index: int) -> None:
                email = self.deployment.users[index % len(self.deployment.users)]
                body = self.deployment.grant_body("password", email=email, password=USER_PASSWORD)
                while not self._stop.is_set():
                    began = time.perf_counter()
                    try:
                        response = await client.post(AUTHENTICATE, json=body)
                        key = str(response.status_code)
                    except httpx.HTTPError as error:
                        key = type(error).__name__
                    self.status[key] = self.status.get(key, 0) + 1
                    if key == "200":
                        self.latencies.append((time.perf_counter() - began) * 1000)

            await asyncio.gather(*(worker(i) for i in range(self.concurrency)))
        self.ended = time.perf_counter()

    @property
    def ok(self) -> int:
        return self.status.get("200", 0)

    @property
    def failed(self) -> int:
        return sum(v for k, v in self.status.items() if k != "200")


# in-process measurements ----------------------------------------------------------------------


def new_hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
    )


@dataclass
class PasswordTiming:
    http_ms: list[float]
    bare_ms: list[float]
    failures: list[str]

    @property
    def ratio(self) -> float | None:
        if not self.http_ms or not self.bare_ms:
            return None
        return statistics.median(self.http_ms) / statistics.median(self.bare_ms)


def time_password_sign_ins(base: str, deployment: Deployment, rounds: int) -> PasswordTiming:
    """Sequential sign-ins over one keep-alive connection, each beside one bare argon2id verify
    in this process, alternating so both see the same machine. The client is the standard
    library's http.client: httpx would add ~0.4 ms of its own per request to what is measured."""
    import http.client
    from urllib.parse import urlsplit

    hasher = new_hasher()
    stored = hasher.hash(USER_PASSWORD)
    timing = PasswordTiming([], [], [])
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or HOST, address.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    try:
        for index in range(rounds):
            began = time.perf_counter()
            hasher.verify(stored, USER_PASSWORD)
            timing.bare_ms.append((time.perf_counter() - began) * 1000)
            email = deployment.users[index % len(deployment.users)]
            fields = deployment.grant_body("password", email=email, password=USER_PASSWORD)
            body = json.dumps(fields)
            began = time.perf_counter()
            connection.request("POST", AUTHENTICATE, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            elapsed = (time.perf_counter() - began) * 1000
            if response.status == 200:
                timing.http_ms.append(elapsed)
            else:
                timing.failures.append(f"{response.status}: {answer[:200]!r}")
    finally:
        connection.close()
    return timing


@dataclass
class MintTiming:
    raw_us: float
    mint_us: float
    token_bytes: int

    @property
    def ratio(self) -> float:
        return self.mint_us / self.raw_us


def time_mint(iterations: int = 1000, rounds: int = 5) -> MintTiming:
    """Raw RS256 signs against `authkeep.crypto.jwt.encode`, best of `rounds` alternating runs."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from authkeep.crypto import jwt
    from authkeep.crypto.secrets import new_ulid

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "http://127.0.0.1:8720/user_management/client_01JBENCHBENCHBENCHBENCHBENC",
        "sub": "user_01JBENCHBENCHBENCHBENCHBENC",
        "sid": "session_01JBENCHBENCHBENCHBENCHBENC",
        "jti": new_ulid(),
        "client_id": "client_01JBENCHBENCHBENCHBENCHBENC",
        "auth_time": now,
        "iat": now,
        "exp": now + 300,
        "org_id": "org_01JBENCHBENCHBENCHBENCHBENC",
        "role": "admin",
        "roles": ["admin"],
        "permissions": ["posts:read", "posts:write", "users:read"],
    }
    kid = "key_01JBENCHBENCHBENCHBENCHBENC"
    token = jwt.encode(claims, key, kid)
    signing_input = token.rsplit(".", 1)[0].encode()  # the very bytes encode() signs
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    raw_best = mint_best = math.inf
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(iterations):
            key.sign(signing_input, pkcs1, sha256)
        raw_best = min(raw_best, (time.perf_counter() - began) / iterations)
        began = time.perf_counter()
        for _ in range(iterations):
            jwt.encode(claims, key, kid)
        mint_best = min(mint_best, (time.perf_counter() - began) / iterations)
    return MintTiming(raw_best * 1e6, mint_best * 1e6, len(token))


def vm_rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def worker_pids(leader: int) -> list[int]:
    """The processes serving requests: uvicorn's spawned workers, or the leader itself."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == leader and b"spawn_main" in cmdline:
            workers.append(int(entry.name))
    return sorted(workers) or [leader]


def worker_rss(server: Server) -> list[float]:
    assert server.process is not None
    values = [vm_rss_mb(pid) for pid in worker_pids(server.process.pid)]
    return [v for v in values if v is not None]


def machine_seconds() -> tuple[float, float] | None:
    """CPU time of the whole machine so far, summed over its CPUs, from /proc/stat's `cpu` line:
    (busy: user, nice, system, irq, softirq; steal: what the hypervisor gave to other guests
    while this machine's CPUs wanted to run)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(fields) < 8:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def database_seconds() -> dict[int, float]:
    """User plus system CPU time so far of each of this machine's PostgreSQL processes."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        used = cpu_seconds(int(entry.name))
        if used is not None:
            found[int(entry.name)] = used
    return found


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU time over the measured run: the server's worker processes, the PostgreSQL processes
    and the whole machine (what a load generator on the same CPUs leaves shows there)."""

    server: Server
    began: float = 0.0
    start_cpu: dict[int, float] = field(default_factory=dict)
    seconds: float | None = None  # CPU seconds, summed over the workers
    wall: float | None = None
    start_machine: tuple[float, float] | None = None
    busy: float | None = None  # CPU seconds of the whole machine, summed over its CPUs
    steal: float | None = None  # share of the machine's CPU time stolen by the hypervisor
    start_database: dict[int, float] = field(default_factory=dict)
    # CPU seconds of the PostgreSQL processes (one that exited meanwhile is not counted)
    database: float | None = None

    def start(self) -> None:
        assert self.server.process is not None
        pids = worker_pids(self.server.process.pid)
        self.start_cpu = {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None}
        self.start_database = database_seconds()
        self.start_machine = machine_seconds()
        self.began = time.perf_counter()

    def stop(self) -> None:
        if not self.start_cpu:
            return
        self.wall = time.perf_counter() - self.began
        machine = machine_seconds()
        if machine is not None and self.start_machine is not None and self.wall > 0:
            self.busy = machine[0] - self.start_machine[0]
            stolen = machine[1] - self.start_machine[1]
            self.steal = stolen / (self.wall * (os.cpu_count() or 1))
        database = database_seconds()
        if database:
            self.database = sum(
                used - self.start_database.get(pid, 0.0) for pid, used in database.items()
            )
        used = 0.0
        for pid, before in self.start_cpu.items():
            after = cpu_seconds(pid)
            if after is None:  # a worker died: its figure is gone
                return
            used += after - before
        self.seconds = used


def settled_rss(server: Server, workers: int, timeout: float = 15.0) -> list[float]:
    """Per-worker RSS once all `workers` exist and two reads half a second apart agree."""
    deadline = time.monotonic() + timeout
    last: list[float] = []
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = worker_rss(server)
        if (
            len(now) == workers
            and len(last) == workers
            and all(abs(a - b) < 0.25 for a, b in zip(now, last, strict=True))
        ):
            return now
        last = now
    return last


def summarize_log(path: Path) -> str | None:
    """What a server log says went wrong: authkeep's unhandled errors (each a 500), counted by
    the exception they ended in and the SQL statement it names, if any."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    kinds: dict[str, int] = {}
    current: str | None = None
    other = 0

    def close() -> None:
        if current is not None:
            kinds[current] = kinds.get(current, 0) + 1

    capturing = False
    for line in lines:
        if line.startswith("unhandled error"):
            close()
            capturing, current = True, "(no exception line)"
        elif line.startswith(("ERROR:", "WARNING:", "INFO:")):
            # uvicorn logs each of those 500s again ("Exception in ASGI application").
            close()
            capturing, current = False, None
            if line.startswith("ERROR:") and "Exception in ASGI application" not in line:
                other += 1
        elif capturing and re.match(r"^[\w.]+(Error|Exception|Exit)\b", line):
            current = line[:140]
        elif capturing and line.startswith("[SQL: ") and current is not None:
            current += " " + line[:90] + ("...]" if len(line) > 90 else "")
    close()
    if not kinds and not other:
        return None
    total = sum(kinds.values())
    detail = "; ".join(f"{count}x {kind}" for kind, count in sorted(kinds.items()))
    extra = f", {other} other ERROR line(s)" if other else ""
    return f"{total} unhandled error(s) (500) in {path}{extra}" + (f": {detail}" if detail else "")


# results --------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str  # refresh, code, burst, peer
    backend: str  # sqlite, postgres, node
    workers: int
    load: GrantLoad | None = None
    problem: str | None = None
    burst: Burst | None = None
    cpu: CpuMeter | None = None
    when: str = ""  # the peer runs before each database's cases and at the end

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.cpu is None or self.cpu.seconds is None or not self.load or not self.load.total:
            return None
        return self.cpu.seconds * 1000 / self.load.total

    @property
    def cores(self) -> float | None:
        if self.cpu is None or self.cpu.seconds is None or not self.cpu.wall:
            return None
        return self.cpu.seconds / self.cpu.wall

    @property
    def database_ms_per_request(self) -> float | None:
        if self.backend != "postgres" or self.cpu is None or self.cpu.database is None:
            return None
        if not self.load or not self.load.total:
            return None
        return self.cpu.database * 1000 / self.load.total

    @property
    def machine_cores(self) -> float | None:
        if self.cpu is None or self.cpu.busy is None or not self.cpu.wall:
            return None
        return self.cpu.busy / self.cpu.wall

    @property
    def label(self) -> str:
        return {
            "refresh": f"authkeep refresh {self.backend}",
            "code": f"authkeep code exchange {self.backend}",
            "burst": f"authkeep refresh + sign-ins {self.backend}",
            "peer": f"oidc-provider refresh (peer, {self.when})",
        }[self.kind]

    @property
    def rps(self) -> float | None:
        return self.load.rps if self.load else None


@dataclass
class ServerFigures:
    backend: str
    workers: int
    rss_startup: list[float] = field(default_factory=list)  # per worker, before any request
    rss_first: list[float] = field(default_factory=list)  # per worker, after 1 request
    rss_after: list[float] = field(default_factory=list)  # per worker, after the load
    password: PasswordTiming | None = None
    problem: str | None = None
    logged_errors: str | None = None


@dataclass
class Results:
    options: Options
    cases: list[Case] = field(default_factory=list)
    servers: list[ServerFigures] = field(default_factory=list)
    mint: MintTiming | None = None
    peer_rss: float | None = None
    notes: list[str] = field(default_factory=list)


# running the cases ----------------------------------------------------------------------------


def pool_size(rate: float, options: Options) -> int:
    wanted = rate * (options.seconds + options.warmup) * POOL_SAFETY + options.connections * 4
    return max(500, min(options.max_pool, math.ceil(wanted)))


def note_discarded(notes: list[str], what: str, load: GrantLoad) -> None:
    """A run that is not reported (a pilot, a run whose pool ran out) still shows its 5xx."""
    errors = {k: v for k, v in load.status.items() if k.startswith("5")}
    if errors or load.errors or load.timeouts:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        notes.append(
            f"{what}: status {codes or '-'}, {load.errors} connection errors, "
            f"{load.timeouts} timeouts of {load.total} responses"
        )


def pilot(
    url: str,
    template: str,
    build: Callable[[int], list[str]],
    options: Options,
    directory: Path,
    notes: list[str],
    what: str,
    pool: int = PILOT_POOL,
) -> float:
    """Requests per second over `PILOT_SECONDS` after `PILOT_WARMUP`, from a pool of `pool`
    (a lower bound when the pool runs out first)."""
    load = run_grant_load(
        url,
        template=template,
        content_type="application/json",
        connections=options.connections,
        seconds=PILOT_SECONDS,
        warmup=PILOT_WARMUP,
        pool_file=write_pool(build(pool), "pilot", directory),
    )
    note_discarded(notes, f"pilot of {what}", load)
    if load.exhausted:
        return load.used / (PILOT_WARMUP + PILOT_SECONDS)
    return load.rps


def measure_pooled(
    case: Case,
    build: Callable[[int], list[str]],
    size: int,
    *,
    url: str,
    template: str,
    options: Options,
    directory: Path,
    server: Server,
    notes: list[str],
    burst_of: Callable[[], Burst] | None = None,
) -> None:
    """Build a pool, drive `url` with it; once more with a pool twice as large if it ran out.
    With `burst_of`, a fresh burst of sign-ins runs through each measured run."""
    for attempt in (1, 2):
        progress(f"  {case.label}, {case.workers} worker(s): building a pool of {size}")
        began = time.perf_counter()
        pool = write_pool(build(size), f"{case.kind}-{case.backend}-w{case.workers}", directory)
        progress(
            f"  built in {time.perf_counter() - began:.1f}s; measuring "
            f"{options.warmup:g}s + {options.seconds:g}s"
        )
        signing_in = case.burst = burst_of() if burst_of else None
        meter = case.cpu = CpuMeter(server)

        def measuring(meter: CpuMeter = meter, signing_in: Burst | None = signing_in) -> None:
            meter.start()
            if signing_in is not None:
                signing_in.start()

        try:
            load = run_grant_load(
                url,
                template=template,
                content_type="application/json",
                connections=options.connections,
                seconds=options.seconds,
                warmup=options.warmup,
                pool_file=pool,
                on_measure=measuring,
            )
        finally:
            meter.stop()
            if signing_in is not None:
                signing_in.stop()
        if not load.exhausted:
            case.load = load
            return
        progress(f"  the pool of {size} ran out after {load.used} requests")
        note_discarded(notes, f"{case.label} w{case.workers} (pool ran out, rerun)", load)
        if attempt == 2 or size >= options.max_pool:
            case.load = load
            case.problem = f"the pool of {size} ran out ({load.exhausted} requests past it)"
            return
        size = min(options.max_pool, size * 2)


def bench_server(
    deployment: Deployment, workers: int, options: Options, results: Results, directory: Path
) -> None:
    port = free_port()
    base = f"http://{HOST}:{port}"
    url = base + AUTHENTICATE
    server = authkeep_server(deployment, workers, port)
    figures = ServerFigures(deployment.backend, workers)
    results.servers.append(figures)
    cases = [Case(kind, deployment.backend, workers) for kind in ("refresh", "code", "burst")]
    refresh, code, burst = cases
    progress(f"{server.name}: starting on port {port}")
    try:
        with running(server):
            # Memory after startup, then after one request: the first password sign-in.
            figures.rss_startup = settled_rss(server, workers)
            first = time_password_sign_ins(base, deployment, 1)
            if first.failures:
                raise BenchError(f"the first password sign-in failed: {first.failures[0]}")
            figures.rss_first = settled_rss(server, workers)
            progress(f"  {options.password_rounds} sequential password sign-ins")
            figures.password = time_password_sign_ins(base, deployment, options.password_rounds)

            pools = PoolBuilder(base, deployment, f"{deployment.backend} w{workers}", results.notes)
            common: dict[str, Any] = {
                "url": url,
                "options": options,
                "directory": directory,
                "server": server,
                "notes": results.notes,
            }
            where = f"{deployment.backend} w{workers}"
            refresh_template = deployment.template("refresh_token", "refresh_token")
            code_template = deployment.template("authorization_code", "code")
            # Pilots: a second of each grant from a small pool sizes the measured runs' pools.
            refresh_rate = pilot(
                url,
                refresh_template,
                pools.refresh_tokens,
                options,
                directory,
                results.notes,
                f"refresh {where}",
                pool=PILOT_REFRESH_POOL,
            )
            code_rate = pilot(
                url,
                code_template,
                pools.codes,
                options,
                directory,
                results.notes,
                f"code exchange {where}",
            )
            progress(f"  pilots: ~{refresh_rate:,.0f} refreshes/s, ~{code_rate:,.0f} exchanges/s")
            measure_pooled(
                refresh,
                pools.refresh_tokens,
                pool_size(refresh_rate, options),
                template=refresh_template,
                **common,
            )
            measure_pooled(
                code, pools.codes, pool_size(code_rate, options), template=code_template, **common
            )
            # Sign-ins slow refreshes down: the refresh case's own pool size is plenty.
            measure_pooled(
                burst,
                pools.refresh_tokens,
                pool_size(refresh.rps or refresh_rate, options),
                template=refresh_template,
                burst_of=lambda: Burst(base, deployment, options.burst),
                **common,
            )
            # Idle again: a worker returns its hashing memory to the system once sign-ins have
            # stopped for a few seconds (services/passwords.py, IDLE_TRIM_SECONDS).
            time.sleep(IDLE_AFTER_LOAD_SECONDS)
            figures.rss_after = settled_rss(server, workers)
            if server.process is not None and server.process.poll() is not None:
                figures.problem = f"{server.name} died during the run: {server.tail()}"
    except BenchError as error:
        figures.problem = str(error)
    for case in cases:
        if case.load is None and case.problem is None:
            case.problem = figures.problem or "not run"
    results.cases += cases
    figures.logged_errors = summarize_log(server.log_path)
    if figures.logged_errors:
        progress(f"  NOTE: {figures.logged_errors}")


def bench_backend(
    backend: str,
    database_url: str,
    secret_key: str,
    options: Options,
    results: Results,
    workers: Sequence[int],
    directory: Path,
) -> None:
    deployment = Deployment(backend, database_url, authkeep_env(database_url, secret_key))
    try:
        progress(f"authkeep {backend}: migrating, creating the environment and users")
        provision(deployment)
    except BenchError as error:
        for count in workers:
            results.servers.append(ServerFigures(backend, count, problem=str(error)))
            for kind in ("refresh", "code", "burst"):
                results.cases.append(Case(kind, backend, count, problem=str(error)))
        return
    for count in workers:
        bench_server(deployment, count, options, results, directory)


def bench_peer(options: Options, results: Results, when: str) -> None:
    """node-oidc-provider's refresh grant with rotation, one node process, its own token pool."""
    port = free_port(2)  # server.mjs also listens on PORT+1 (its token pool)
    jwks = f"http://{HOST}:{port}/jwks"
    server = Server(
        name="grants-oidc-provider",
        argv=["node", "server.mjs"],
        ready_url=jwks,
        env={**os.environ, "PORT": str(port), "NODE_ENV": "production"},
        cwd=PEER_CACHE,
    )
    progress(f"{server.name}: starting on ports {port}-{port + 1}")
    case = Case("peer", "node", 1, when=when)
    size = 20000
    template = (
        f"grant_type=refresh_token&client_id=bench&client_secret={PEER_SECRET}"
        "&refresh_token={value}"
    )
    try:
        with running(server):
            time.sleep(0.5)
            if results.peer_rss is None:
                results.peer_rss = worker_rss(server)[0]
            for attempt in (1, 2):
                progress(f"  {case.label}: a pool of {size} from the peer, measuring")
                meter = case.cpu = CpuMeter(server)
                load = run_grant_load(
                    f"http://{HOST}:{port}/token",
                    template=template,
                    content_type="application/x-www-form-urlencoded",
                    connections=options.connections,
                    seconds=options.seconds,
                    warmup=options.warmup,
                    pool_url=f"http://{HOST}:{port + 1}/pool?n={size}",
                    on_measure=meter.start,
                )
                meter.stop()
                case.load = load
                if not load.exhausted:
                    break
                if attempt == 2 or size >= options.max_pool:
                    case.problem = f"the pool of {size} ran out ({load.exhausted} past it)"
                    break
                size = min(options.max_pool, size * 2)
    except BenchError as error:
        case.problem = str(error)
    results.cases.append(case)


# report ---------------------------------------------------------------------------------------


def fmt_rps(value: float | None) -> str:
    return f"{value:,.0f}" if value else "n/a"


def fmt_optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_mb(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values) if values else "-"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def report(results: Results) -> str:
    options = results.options
    # The peer ran several times in the run: its reference is the mean of its runs.
    peer_loads = [c.load for c in results.cases if c.kind == "peer" and c.load is not None]
    peer_rps = statistics.mean(x.rps for x in peer_loads) if peer_loads else None
    peer_p99 = statistics.mean(x.p99 for x in peer_loads) if peer_loads else None

    header = [
        "case",
        "workers",
        "req/s",
        "p50 ms",
        "p99 ms",
        "slowest s",
        "non-2xx",
        "errors",
        "/peer",
        "CPU ms/req",
        "cores",
        "DB ms/req",
        "machine",
        "steal",
        "pool used",
    ]
    rows: list[list[str]] = []
    problems: list[str] = []
    order = ["refresh", "code", "burst", "peer"]
    backends = ["sqlite", "postgres", "node"]
    cases = sorted(
        results.cases,
        key=lambda c: (order.index(c.kind), backends.index(c.backend), c.workers),
    )
    for case in cases:
        load = case.load
        if case.problem:
            problems.append(f"{case.label} w{case.workers}: {case.problem}")
        if load is None:
            rows.append([case.label, str(case.workers), "FAILED", *["-"] * 12])
            continue
        versus = ratio(load.rps, peer_rps) if case.kind != "code" else None
        slowest = load.slowest_second
        rows.append(
            [
                case.label,
                str(case.workers),
                f"{load.rps:,.0f}",
                fmt_ms(load.p50),
                fmt_ms(load.p99),
                "-" if slowest is None else f"{slowest:,}",
                str(load.non2xx) + ("  <-- !" if load.non2xx else ""),
                str(load.errors + load.timeouts)
                + ("  <-- !" if load.errors + load.timeouts else ""),
                fmt_ratio(versus) if case.kind != "code" else "",
                "-" if case.cpu_ms_per_request is None else f"{case.cpu_ms_per_request:.2f}",
                "-" if case.cores is None else f"{case.cores:.2f}",
                fmt_optional(case.database_ms_per_request),
                fmt_optional(case.machine_cores),
                "-" if case.cpu is None or case.cpu.steal is None else f"{case.cpu.steal:.0%}",
                f"{load.used:,}/{load.pool:,}",
            ]
        )
        if load.failures:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(load.status.items()))
            problems.append(
                f"{case.label} w{case.workers}: {load.non2xx} non-2xx, {load.errors} errors, "
                f"{load.timeouts} timeouts of {load.total} responses (status {codes})"
            )

    out = [
        f"authkeep token-endpoint benchmark: {options.seconds:g}s per case after "
        f"{options.warmup:g}s warm-up, {options.connections} connections, one fresh pool value "
        f"per request, autocannon in a separate node process, {os.cpu_count()} CPUs shared with "
        "the load generator",
        "",
        render_table(header, rows),
        "",
        f"/peer: req/s over node-oidc-provider's refresh grant (one node process, same "
        f"connections), mean of its {len(peer_loads)} runs: {fmt_rps(peer_rps)} req/s, "
        f"p99 {fmt_ms(round(peer_p99, 1)) if peer_p99 is not None else '-'} ms; "
        "slowest s: fewest responses in one whole second of the run; CPU ms/req and cores: "
        "user+system CPU of the server's worker processes (the peer's node process) over the "
        "measured run, per response and per second of it (the database and the load generator "
        "not included); DB ms/req: the PostgreSQL processes' CPU per response (postgres cases); "
        "machine: the cores the whole machine kept busy (workers, database, load generator, "
        f"kernel; of {os.cpu_count()}); steal: the machine's CPU time the hypervisor gave to other "
        "guests over the measured run (a case with a few percent or more was slowed by its "
        "neighbours, not comparable); pool used: values handed out (warm-up included) / pool size.",
    ]

    # Refresh under a password burst.
    burst_rows: list[list[str]] = []
    for case in cases:
        signing_in = case.burst
        if case.kind != "burst" or case.load is None or signing_in is None:
            continue
        alone = next(
            (
                c.load
                for c in cases
                if c.kind == "refresh" and (c.backend, c.workers) == (case.backend, case.workers)
            ),
            None,
        )
        seconds = max(signing_in.ended - signing_in.started, 1e-9)
        latencies = sorted(signing_in.latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0
        burst_rows.append(
            [
                case.backend,
                str(case.workers),
                fmt_rps(alone.rps) if alone else "-",
                fmt_rps(case.load.rps),
                fmt_ratio(ratio(case.load.rps, alone.rps if alone else None)),
                fmt_ms(alone.p99) if alone else "-",
                fmt_ms(case.load.p99),
                f"{signing_in.ok / seconds:,.1f}",
                f"{statistics.median(latencies):.0f}" if latencies else "-",
                f"{p99:.0f}" if latencies else "-",
                str(signing_in.failed) + ("  <-- !" if signing_in.failed else ""),
            ]
        )
        if signing_in.failed:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(signing_in.status.items()))
            problems.append(f"password sign-ins during {case.label} w{case.workers}: {codes}")
    out += [
        "",
        f"Refresh alone vs while {options.burst} password sign-ins stay in flight for the "
        "whole measured run (authkeep hashes in a bounded pool of 2 threads per worker):",
        "",
        render_table(
            [
                "database",
                "workers",
                "refresh req/s alone",
                "with sign-ins",
                "ratio",
                "p99 ms alone",
                "with sign-ins",
                "sign-ins/s",
                "sign-in p50 ms",
                "p99 ms",
                "failed",
            ],
            burst_rows,
        ),
    ]

    # Password sign-in against bare argon2id.
    password_rows: list[list[str]] = []
    memory_rows: list[list[str]] = []
    rss_first: list[float] = []
    password_ratios: list[float] = []
    for figures in results.servers:
        where = f"authkeep {figures.backend} w{figures.workers}"
        if figures.problem:
            problems.append(f"{where}: {figures.problem}")
        if figures.logged_errors:
            problems.append(f"{where}: {figures.logged_errors}")
        timing = figures.password
        if timing is not None and timing.http_ms:
            if timing.ratio is not None:
                password_ratios.append(timing.ratio)
            password_rows.append(
                [
                    figures.backend,
                    str(figures.workers),
                    f"{statistics.median(timing.http_ms):.1f}",
                    f"{statistics.median(timing.bare_ms):.1f}",
                    fmt_ratio(timing.ratio),
                    f"{min(timing.http_ms):.1f}",
                    f"{max(timing.http_ms):.1f}",
                    str(len(timing.failures)) + ("  <-- !" if timing.failures else ""),
                ]
            )
            if timing.failures:
                problems.append(
                    f"password sign-ins on {where}: {len(timing.failures)} failed, "
                    f"first {timing.failures[0]}"
                )
        rss_first += figures.rss_first
        memory_rows.append(
            [
                f"authkeep {figures.backend}",
                str(figures.workers),
                fmt_mb(figures.rss_startup),
                fmt_mb(figures.rss_first),
                fmt_mb(figures.rss_after),
            ]
        )
    if results.peer_rss is not None:
        memory_rows.append(["oidc-provider (peer)", "1", f"{results.peer_rss:.1f}", "", ""])
    out += [
        "",
        f"Password sign-in, {options.password_rounds} sequential requests on one keep-alive "
        "connection, each beside one bare argon2id verify (t=2, m=19 MiB, p=1) in this process:",
        "",
        render_table(
            [
                "database",
                "workers",
                "sign-in p50 ms",
                "argon2id p50 ms",
                "ratio",
                "sign-in min",
                "max",
                "failed",
            ],
            password_rows,
        ),
        "",
        "Memory, VmRSS in MB of each worker process (with 1 worker uvicorn serves in the "
        "`authkeep serve` process itself; with more, in the workers it spawns):",
        "",
        render_table(
            ["server", "workers", "after startup", "+1 sign-in", "idle after the load"], memory_rows
        ),
    ]

    mint = results.mint
    out += [""]
    if mint is not None:
        out.append(
            f"Access-token mint in-process: raw RS256 sign {mint.raw_us:,.0f} us "
            f"({1e6 / mint.raw_us:,.0f}/s), authkeep.crypto.jwt.encode {mint.mint_us:,.0f} us "
            f"({1e6 / mint.mint_us:,.0f}/s, {mint.token_bytes}-byte token) = "
            f"{mint.ratio:.2f}x raw sign (best of 5 x 1,000 each)"
        )
    else:
        out.append("Access-token mint in-process: n/a")

    # Targets, information only.
    out += ["", "Targets from the issue (information only, never asserted):"]
    for backend, target in (("postgres", TARGET_PG_VS_PEER), ("sqlite", TARGET_SQLITE_VS_PEER)):
        ran = [c for c in cases if c.kind == "refresh" and c.backend == backend]
        if not ran:
            continue
        each = "  ".join(
            f"{c.workers}w {fmt_ratio(ratio(c.rps, peer_rps))}"
            + (f" p99 {fmt_ms(c.load.p99)}" if c.load else "")
            for c in ran
        )
        best = max((c for c in ran if c.rps), key=lambda c: c.rps or 0, default=None)
        best_ratio = ratio(best.rps, peer_rps) if best else None
        ok: bool | None = None
        if best is not None and best.load is not None and best_ratio is not None and peer_p99:
            ok = best_ratio >= target and (backend != "postgres" or best.load.p99 <= peer_p99)
        extra = " with p99 no worse than the peer's" if backend == "postgres" else ""
        out.append(
            f"  {backend} refresh >= {target:g}x the peer{extra}: {verdict(ok)} "
            f"({each}; best of worker counts)"
        )
    if mint is not None:
        out.append(
            f"  mint <= {TARGET_MINT_VS_SIGN}x raw sign: "
            f"{verdict(mint.ratio <= TARGET_MINT_VS_SIGN)} ({mint.ratio:.2f}x)"
        )
    if rss_first:
        worst = max(rss_first)
        out.append(
            f"  <= {TARGET_RSS_MB:g} MB RSS per idle worker: {verdict(worst <= TARGET_RSS_MB)} "
            f"(largest worker {worst:.1f} MB after startup + 1 request)"
        )
    if password_ratios:
        worst_ratio = max(password_ratios)
        out.append(
            f"  password sign-in <= {TARGET_PASSWORD_VS_ARGON2}x bare argon2id: "
            f"{verdict(worst_ratio <= TARGET_PASSWORD_VS_ARGON2)} (worst server "
            f"{worst_ratio:.2f}x)"
        )

    if problems or results.notes:
        out += ["", "Problems (non-2xx, connection errors, failures, logged errors):"]
        out += [f"  - {p}" for p in [*problems, *results.notes]]
    else:
        out += ["", "No non-2xx responses, connection errors or logged server errors."]
    return "\n".join(out)


# main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark authkeep's token endpoint (refresh and code grants) against "
        "node-oidc-provider, plus token minting, worker memory and password sign-in. Prints "
        "figures; never fails on them."
    )
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per case")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--warmup", type=float, default=1, help="warm-up seconds per case")
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated uvicorn worker counts (default 1,2)"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="authkeep databases (sqlite,postgres)"
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=8,
        help="password sign-ins kept in flight during the burst case (default 8)",
    )
    parser.add_argument(
        "--password-rounds",
        type=int,
        default=60,
        help="sequential password sign-ins timed against bare argon2id (default 60)",
    )
    parser.add_argument(
        "--max-pool", type=int, default=40000, help="largest pool of tokens or codes per case"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("AUTHKEEP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL database for the postgres cases; a per-run schema is created there",
    )
    parser.add_argument(
        "--peer-dir",
        type=Path,
        default=DEFAULT_PEER_SOURCE,
        help="node-oidc-provider peer to copy into bench/.cache (read-only is fine)",
    )
    parser.add_argument("--skip-peer", action="store_true", help="do not run the peer")
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.seconds <= 0 or args.connections < 1 or not args.workers or min(args.workers) < 1:
        parser.error("--seconds, --connections and --workers must be positive")
    if args.burst < 1 or args.password_rounds < 1 or args.max_pool < 500:
        parser.error("--burst and --password-rounds must be positive, --max-pool at least 500")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        seconds=args.seconds,
        warmup=args.warmup,
        connections=args.connections,
        burst=args.burst,
        password_rounds=args.password_rounds,
        max_pool=args.max_pool,
    )
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            print(f"bench: `{tool}` is not on PATH; the load generator needs it.", file=sys.stderr)
            return 2
    try:
        ensure_peer(args.peer_dir)
        import httpx  # noqa: F401 - builds the pools
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except ImportError:
        print("bench: httpx is missing: install the `test` extra.", file=sys.stderr)
        return 2

    results = Results(options)
    progress("in-process: raw RS256 sign vs authkeep.crypto.jwt.encode")
    results.mint = time_mint()

    secret_key = secrets.token_urlsafe(48)
    schema = f"authkeep_grants_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="authkeep-grants-") as tmp:
        directory = Path(tmp)
        for backend in args.backends:
            # The peer runs before each database's cases and once after the last: on a shared
            # machine its figure drifts, and the spread of its runs shows by how much.
            if not args.skip_peer:
                bench_peer(options, results, f"before {backend}")
            if backend == "sqlite":
                url = f"sqlite:///{directory / 'bench.db'}"
                bench_backend(backend, url, secret_key, options, results, args.workers, directory)
                continue
            url = with_query(args.postgres_url, schema=schema)
            try:
                postgres_execute(args.postgres_url, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            except BenchError as error:
                for count in args.workers:
                    results.servers.append(ServerFigures(backend, count, problem=str(error)))
                    for kind in ("refresh", "code", "burst"):
                        results.cases.append(Case(kind, backend, count, problem=str(error)))
                continue
            try:
                bench_backend(backend, url, secret_key, options, results, args.workers, directory)
            finally:
                postgres_execute(args.postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    if not args.skip_peer:
        bench_peer(options, results, "at the end")
    print(report(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
