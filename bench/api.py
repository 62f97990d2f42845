"""HTTP throughput of authkeep beside a bare-Starlette ceiling and node-oidc-provider.

Every case starts a real server, warms it up, and drives it for `--seconds` from a separate load
process (autocannon, via bench/load.mjs) with `--connections` connections, then stops the server's
whole process group. The cases:

  jwks      GET /sso/jwks/{client_id} on `authkeep serve`, SQLite and PostgreSQL, 1 and 2 workers
  users     GET /user_management/users/{id} with a bearer API key, same servers
  ceiling   GET /constant on bench/bare_app.py (uvicorn, same options), 1 and 2 workers
  peer      GET /jwks on node-oidc-provider (bench/.cache/oidc-provider, one node process)

It prints figures and ratios and never asserts on them: absolute numbers swing between runs on a
shared machine, so only ratios inside one run mean anything. Exit status is 0 unless the bench
itself could not run.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
LOG_DIR = CACHE_DIR / "logs"
PEER_CACHE = CACHE_DIR / "oidc-provider"
DEFAULT_PEER_SOURCE = Path("/work/shared/peers/oidc-provider")
PEER_FILES = ("package.json", "package-lock.json", "server.mjs", "load.mjs")
PEER_STAMP = ".bench-npm-ci.sha256"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
HOST = "127.0.0.1"
TARGET_RATIO = 1.3
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class BenchError(Exception):
    """A case could not be set up or run; reported in the table instead of figures."""


# load generator -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    rps: float
    ok_rps: float
    total: int
    p50: float
    p99: float
    non2xx: int
    errors: int
    timeouts: int
    status: dict[str, int]

    @property
    def failures(self) -> int:
        return self.non2xx + self.errors + self.timeouts


@dataclass(frozen=True)
class LoadOptions:
    seconds: float
    warmup: float
    connections: int


def run_load(url: str, options: LoadOptions, headers: dict[str, str] | None = None) -> Load:
    """Drive `url` from a separate node process (bench/load.mjs) and read its JSON line."""
    config = {
        "url": url,
        "connections": options.connections,
        "seconds": options.seconds,
        "warmup": options.warmup,
        "headers": headers or {},
        "peer_dir": str(PEER_CACHE),
    }
    try:
        done = subprocess.run(
            ["node", str(BENCH_DIR / "load.mjs")],
            input=json.dumps(config),
            capture_output=True,
            text=True,
            timeout=options.seconds + options.warmup + 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError("the load generator did not finish in time") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"load generator failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    raw = json.loads(lines[-1])
    return Load(
        rps=float(raw["rps"]),
        ok_rps=float(raw["ok_rps"]),
        total=int(raw["total"]),
        p50=float(raw["p50"]),
        p99=float(raw["p99"]),
        non2xx=int(raw["non2xx"]),
        errors=int(raw["errors"]),
        timeouts=int(raw["timeouts"]),
        status={str(k): int(v) for k, v in raw["status"].items()},
    )


# processes ------------------------------------------------------------------------------------


def free_port(span: int = 1) -> int:
    """A port P such that P .. P+span-1 are all free on HOST right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if port + span > 65535:
            continue
        try:
            for offset in range(span):
                with socket.socket() as other:
                    other.bind((HOST, port + offset))
        except OSError:
            continue
        return port
    raise BenchError(f"no run of {span} free ports found")


def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """Status and decoded JSON body (or text) of one request; connection errors raise OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


@dataclass
class Server:
    """A server started in its own session, so stopping it reaches every worker it forked."""

    name: str
    argv: list[str]
    ready_url: str
    env: dict[str, str]
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def log_path(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode}: {self.tail()}"
                )
            try:
                status, _ = http_request("GET", self.ready_url, timeout=1.0)
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name} was not ready within {READY_TIMEOUT:.0f}s: {self.tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the group id is the leader's pid
        self._signal_group(group, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal_group(group, signal.SIGKILL)
            process.wait()
        # Whatever of the group outlived its leader (an orphaned worker) goes too.
        self._signal_group(group, signal.SIGKILL)

    @staticmethod
    def _signal_group(group: int, signum: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            os.killpg(group, signum)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# results --------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str  # jwks, users, ceiling, peer
    backend: str  # sqlite, postgres, starlette, node
    workers: int
    load: Load | None = None
    problem: str | None = None

    @property
    def label(self) -> str:
        return {
            "jwks": f"authkeep JWKS {self.backend}",
            "users": f"authkeep GET user {self.backend}",
            "ceiling": "bare Starlette (ceiling)",
            "peer": "oidc-provider /jwks (peer)",
        }[self.kind]

    @property
    def rps(self) -> float | None:
        return self.load.rps if self.load else None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(
    case: Case, url: str, options: LoadOptions, headers: dict[str, str] | None = None
) -> Case:
    progress(f"  measuring {case.label}, {case.workers} worker(s): GET {url}")
    try:
        case.load = run_load(url, options, headers)
    except BenchError as error:
        case.problem = str(error)
    return case


# authkeep -------------------------------------------------------------------------------------


def authkeep_command() -> list[str]:
    script = Path(sys.executable).parent / "authkeep"
    if script.exists():
        return [str(script)]
    found = shutil.which("authkeep")
    return [found] if found else [sys.executable, "-m", "authkeep.cli"]


def authkeep_env(database_url: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEP_")}
    env.update(
        AUTHKEEP_DATABASE_URL=database_url,
        AUTHKEEP_SECRET_KEY=secret_key,
        AUTHKEEP_LOG_LEVEL="warning",
    )
    return env


@dataclass
class Deployment:
    backend: str
    database_url: str
    env: dict[str, str]
    client_id: str = ""
    api_key: str = ""
    user_id: str = ""


def run_cli(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [*authkeep_command(), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise BenchError(f"`authkeep {' '.join(args)}` failed ({done.returncode}): {output}")
    return done.stdout


def provision(deployment: Deployment) -> None:
    """Migrate the database and create the environment the bench uses."""
    run_cli(["migrate"], deployment.env)
    out = run_cli(["environments", "create", "bench", "--kind", "production"], deployment.env)
    client = re.search(r"client_id\s+(\S+)", out)
    key = re.search(r"api_key\s+(\S+)", out)
    if not client or not key:
        raise BenchError(f"unexpected `authkeep environments create` output: {out!r}")
    deployment.client_id, deployment.api_key = client.group(1), key.group(1)


def ensure_user(deployment: Deployment, base: str) -> None:
    if deployment.user_id:
        return
    status, body = http_request(
        "POST",
        f"{base}/user_management/users",
        headers=auth_headers(deployment),
        body={"email": "bench@example.com"},
    )
    if status not in (200, 201) or not isinstance(body, dict) or "id" not in body:
        raise BenchError(f"creating the bench user answered {status}: {body}")
    deployment.user_id = str(body["id"])


def auth_headers(deployment: Deployment) -> dict[str, str]:
    return {"Authorization": f"Bearer {deployment.api_key}"}


def check_once(url: str, headers: dict[str, str] | None = None) -> None:
    """One request before the load, so a broken endpoint is reported with its answer."""
    status, body = http_request("GET", url, headers=headers)
    if status != 200:
        progress(f"  WARNING: GET {url} answered {status}: {str(body)[:300]}")


def bench_authkeep(
    deployment: Deployment, workers: Sequence[int], options: LoadOptions
) -> list[Case]:
    cases: list[Case] = []
    try:
        provision(deployment)
    except BenchError as error:
        for count in workers:
            for kind in ("jwks", "users"):
                cases.append(Case(kind, deployment.backend, count, problem=str(error)))
        return cases
    for count in workers:
        port = free_port()
        base = f"http://{HOST}:{port}"
        server = Server(
            name=f"authkeep-{deployment.backend}-w{count}",
            argv=[
                *authkeep_command(),
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(count),
            ],
            ready_url=f"{base}/healthz",
            env=deployment.env,
        )
        progress(f"{server.name}: starting on port {port}")
        try:
            with running(server):
                ensure_user(deployment, base)
                jwks_url = f"{base}/sso/jwks/{deployment.client_id}"
                user_url = f"{base}/user_management/users/{deployment.user_id}"
                headers = auth_headers(deployment)
                check_once(jwks_url)
                check_once(user_url, headers)
                cases.append(measure(Case("jwks", deployment.backend, count), jwks_url, options))
                cases.append(
                    measure(Case("users", deployment.backend, count), user_url, options, headers)
                )
                if server.process is not None and server.process.poll() is not None:
                    progress(f"  WARNING: {server.name} died during the run: {server.tail()}")
        except BenchError as error:
            for kind in ("jwks", "users"):
                if not any(c.kind == kind and c.workers == count for c in cases):
                    cases.append(Case(kind, deployment.backend, count, problem=str(error)))
        log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        if "Traceback" in log or "ERROR" in log:
            progress(f"  NOTE: {server.name} logged errors, see {server.log_path}")
    return cases


def with_query(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


async def _postgres_execute(dsn: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_execute(dsn: str, statement: str) -> None:
    try:
        asyncio.run(_postgres_execute(dsn, statement))
    except Exception as error:
        raise BenchError(f"PostgreSQL at {dsn}: {type(error).__name__}: {error}") from None


# ceiling and peer -----------------------------------------------------------------------------


def bench_ceiling(workers: Sequence[int], options: LoadOptions) -> list[Case]:
    from bare_app import PATH  # bench/ is on sys.path when this file runs as a script

    cases = []
    for count in workers:
        port = free_port()
        url = f"http://{HOST}:{port}{PATH}"
        server = Server(
            name=f"bare-starlette-w{count}",
            argv=[
                sys.executable,
                str(BENCH_DIR / "bare_app.py"),
                "--port",
                str(port),
                "--workers",
                str(count),
            ],
            ready_url=url,
            env=dict(os.environ),
        )
        progress(f"{server.name}: starting on port {port}")
        case = Case("ceiling", "starlette", count)
        try:
            with running(server):
                cases.append(measure(case, url, options))
        except BenchError as error:
            case.problem = str(error)
            cases.append(case)
    return cases


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_peer(source: Path) -> None:
    """Copy the read-only peer into bench/.cache and `npm ci` there when its lockfile changes."""
    PEER_CACHE.mkdir(parents=True, exist_ok=True)
    # Keeps the cache out of `git status` even before .gitignore lists bench/.cache/.
    (CACHE_DIR / ".gitignore").write_text("*\n")
    for name in PEER_FILES:
        origin, copy = source / name, PEER_CACHE / name
        if not origin.exists():
            raise BenchError(f"peer file {origin} is missing")
        if not copy.exists() or copy.read_bytes() != origin.read_bytes():
            copy.unlink(missing_ok=True)
            shutil.copyfile(origin, copy)  # copyfile: the copy is writable, unlike the source
    stamp = PEER_CACHE / PEER_STAMP
    lock = _sha256(PEER_CACHE / "package-lock.json")
    installed = (PEER_CACHE / "node_modules" / "autocannon").is_dir()
    if installed and stamp.exists() and stamp.read_text().strip() == lock:
        return
    progress(f"npm ci in {PEER_CACHE}")
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=PEER_CACHE,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"npm ci failed in {PEER_CACHE}: {done.stderr.strip()[-800:]}")
    stamp.write_text(lock + "\n")


def bench_peer(options: LoadOptions) -> list[Case]:
    port = free_port(2)  # server.mjs also listens on PORT+1 (its token pool)
    url = f"http://{HOST}:{port}/jwks"
    server = Server(
        name="oidc-provider",
        argv=["node", "server.mjs"],
        ready_url=url,
        env={**os.environ, "PORT": str(port), "NODE_ENV": "production"},
        cwd=PEER_CACHE,
    )
    progress(f"{server.name}: starting on ports {port}-{port + 1}")
    case = Case("peer", "node", 1)
    try:
        with running(server):
            check_once(url)
            measure(case, url, options)
    except BenchError as error:
        case.problem = str(error)
    return [case]


# report ---------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def fmt_ms(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def report(cases: list[Case], options: LoadOptions) -> str:
    ceiling = {c.workers: c.rps for c in cases if c.kind == "ceiling"}
    peer = next((c for c in cases if c.kind == "peer"), None)
    peer_rps = peer.rps if peer else None

    header = [
        "case",
        "workers",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "/ceiling",
        "/peer",
    ]
    rows: list[list[str]] = []
    problems: list[str] = []
    for case in cases:
        if case.load is None:
            rows.append([case.label, str(case.workers), "FAILED", "-", "-", "-", "-", "-", "-"])
            problems.append(f"{case.label} w{case.workers}: {case.problem}")
            continue
        load = case.load
        # The peer is one node process: it is set beside the one-worker ceiling.
        versus_ceiling = ratio(load.rps, ceiling.get(case.workers))
        versus_peer = ratio(load.rps, peer_rps) if case.kind == "jwks" else None
        rows.append(
            [
                case.label,
                str(case.workers),
                f"{load.rps:,.0f}",
                fmt_ms(load.p50),
                fmt_ms(load.p99),
                str(load.non2xx) + ("  <-- !" if load.non2xx else ""),
                str(load.errors + load.timeouts)
                + ("  <-- !" if load.errors + load.timeouts else ""),
                fmt_ratio(versus_ceiling) if case.kind != "ceiling" else "1.00x",
                fmt_ratio(versus_peer) if case.kind == "jwks" else "",
            ]
        )
        if load.failures:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(load.status.items()))
            problems.append(
                f"{case.label} w{case.workers}: {load.non2xx} non-2xx, {load.errors} errors, "
                f"{load.timeouts} timeouts of {load.total} responses (status {codes})"
            )

    out = [
        f"authkeep API benchmark: {options.seconds:g}s per case after {options.warmup:g}s warm-up, "
        f"{options.connections} connections, autocannon in a separate node process, "
        f"{os.cpu_count()} CPUs shared with the load generator",
        "",
        render_table(header, rows),
        "",
        "/ceiling: req/s over bare Starlette at the same worker count "
        "(the peer, one node process, over the 1-worker ceiling); /peer: req/s over the peer.",
    ]

    out += ["", f"JWKS vs peer (node-oidc-provider /jwks, {fmt_rps(peer_rps)} req/s):"]
    verdicts: list[str] = []
    for backend in ("sqlite", "postgres"):
        jwks = [c for c in cases if c.kind == "jwks" and c.backend == backend]
        if not jwks:
            continue
        each = "  ".join(f"{c.workers}w {fmt_ratio(ratio(c.rps, peer_rps))}" for c in jwks)
        best = max((c.rps for c in jwks if c.rps), default=None)
        best_ratio = ratio(best, peer_rps)
        out.append(f"  {backend:<9} {each}  best {fmt_ratio(best_ratio)}")
        if best_ratio is None:
            verdicts.append(f"{backend} n/a")
        else:
            verdict = "PASS" if best_ratio >= TARGET_RATIO else "MISS"
            verdicts.append(f"{backend} {verdict} ({best_ratio:.2f}x)")
    out.append(
        f'Target "JWKS at least {TARGET_RATIO}x the peer" (best of worker counts): '
        + (", ".join(verdicts) or "n/a (no JWKS case ran)")
        + "  [information only]"
    )

    if problems:
        out += ["", "Problems (non-2xx, connection errors, cases that did not run):"]
        out += [f"  - {p}" for p in problems]
    else:
        out += ["", "No non-2xx responses or connection errors in any case."]
    return "\n".join(out)


def fmt_rps(value: float | None) -> str:
    return f"{value:,.0f}" if value else "n/a"


# main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark authkeep's HTTP API against a bare-Starlette ceiling and "
        "node-oidc-provider. Prints figures; never fails on them."
    )
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per case")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--warmup", type=float, default=1, help="warm-up seconds per case")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="comma-separated uvicorn worker counts for authkeep and the ceiling (default 1,2)",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="authkeep databases (sqlite,postgres)"
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
    args = parser.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.seconds <= 0 or args.connections < 1 or not args.workers or min(args.workers) < 1:
        parser.error("--seconds, --connections and --workers must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = LoadOptions(seconds=args.seconds, warmup=args.warmup, connections=args.connections)
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            print(f"bench: `{tool}` is not on PATH; the load generator needs it.", file=sys.stderr)
            return 2
    try:
        ensure_peer(args.peer_dir)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2

    cases: list[Case] = []
    cases += bench_ceiling(args.workers, options)
    cases += bench_peer(options)

    secret_key = secrets.token_urlsafe(48)
    schema = f"authkeep_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="authkeep-bench-") as tmp:
        for backend in args.backends:
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp, 'bench.db')}"
                deployment = Deployment(backend, url, authkeep_env(url, secret_key))
                cases += bench_authkeep(deployment, args.workers, options)
                continue
            url = with_query(args.postgres_url, schema=schema)
            deployment = Deployment(backend, url, authkeep_env(url, secret_key))
            try:
                postgres_execute(args.postgres_url, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            except BenchError as error:
                for count in args.workers:
                    for kind in ("jwks", "users"):
                        cases.append(Case(kind, backend, count, problem=str(error)))
                continue
            try:
                cases += bench_authkeep(deployment, args.workers, options)
            finally:
                postgres_execute(args.postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    order = ["jwks", "users", "ceiling", "peer"]
    backends = ["sqlite", "postgres", "starlette", "node"]
    cases.sort(key=lambda c: (order.index(c.kind), backends.index(c.backend), c.workers))
    print(report(cases, options), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
