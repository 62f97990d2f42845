"""`authkeep migrate` and `authkeep serve` on PostgreSQL with several workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests import support
from tests.cli.test_dev import CLI, authkeep


def start_serve(
    cwd: Path, env: dict[str, str], port: int, workers: int = 2
) -> subprocess.Popen[str]:
    """`authkeep serve --workers N` in its own process group, once it answers /readyz."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTHKEEP_") and k != "PYTHONOPTIMIZE"
    } | env
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, "serve did not start"
        time.sleep(0.1)


def test_serve_refuses_unsafe_settings(tmp_path: Path) -> None:
    result = authkeep("serve", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "AUTHKEEP_DATABASE_URL" in result.stderr and "AUTHKEEP_SECRET_KEY" in result.stderr
    short = authkeep(
        "serve",
        cwd=tmp_path,
        check=False,
        env={"AUTHKEEP_DATABASE_URL": "sqlite:///x.db", "AUTHKEEP_SECRET_KEY": "short"},
    )
    assert (
        short.returncode == 2
        and "AUTHKEEP_SECRET_KEY" in short.stderr
        and "DATABASE_URL" not in short.stderr
    )


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {
        "AUTHKEEP_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
        "AUTHKEEP_SECRET_KEY": support.SECRET,
    }
    result = authkeep("serve", cwd=tmp_path, check=False, env=env)
    assert result.returncode == 2 and "authkeep migrate" in result.stderr


def test_migrate_then_serve_on_postgresql_with_two_workers(tmp_path: Path) -> None:
    schema = support.create_postgres_schema()
    port = support.free_port()
    env = {
        "AUTHKEEP_DATABASE_URL": support.postgres_url(schema),
        "AUTHKEEP_SECRET_KEY": support.SECRET,
        "AUTHKEEP_LOG_LEVEL": "warning",
    }
    process = None
    try:
        assert "up to date" in authkeep("migrate", cwd=tmp_path, env=env).stdout
        assert "up to date" in authkeep("migrate", cwd=tmp_path, env=env).stdout  # idempotent
        made = authkeep("environments", "create", "production", cwd=tmp_path, env=env).stdout
        api_key = next(line.split()[-1] for line in made.splitlines() if "api_key" in line)
        client_id = next(line.split()[-1] for line in made.splitlines() if "client_id" in line)
        process = start_serve(tmp_path, env, port)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {api_key}"}
        # Writes through one worker are visible through any other: the nodes keep no state.
        ids = {
            httpx.post(
                f"{base}/user_management/users",
                json={"email": f"p{i}@example.com"},
                headers=headers,
            ).json()["id"]
            for i in range(20)
        }
        with httpx.Client(base_url=base, headers=headers) as client:
            for _ in range(20):
                listed = client.get("/user_management/users", params={"limit": "100"}).json()[
                    "data"
                ]
                assert {u["id"] for u in listed} == ids
        assert api_key.startswith("sk_live_")
        assert httpx.get(f"{base}/sso/jwks/{client_id}").status_code == 200
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        support.drop_postgres_schema(schema)


def test_sqlite_with_two_workers_takes_concurrent_writes_without_errors(tmp_path: Path) -> None:
    """SQLite has one writer: concurrent writes from two worker processes queue, never 500."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.signin.hosted import CALLBACK, PASSWORD, sign_in

    port = support.free_port()
    env = _migrated_env(tmp_path, f"sqlite:///{tmp_path / 'concurrent.db'}")
    api_key, client_id = _dev_environment(tmp_path, env)
    authkeep("redirect-uris", "add", CALLBACK, "--env", "dev", cwd=tmp_path, env=env)
    process = start_serve(tmp_path, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        headers = {"Authorization": f"Bearer {api_key}"}
        httpx.post(
            f"{base}/user_management/users",
            json={"email": "w@example.com", "password": PASSWORD},
            headers=headers,
        )
        authorize = str(
            httpx.URL(
                f"{base}/user_management/authorize",
                params={
                    "client_id": client_id,
                    "redirect_uri": CALLBACK,
                    "response_type": "code",
                    "provider": "authkit",
                },
            )
        )
        with httpx.Client(base_url=base) as browser:
            assert sign_in(browser, authorize, "w@example.com").code
            cookies = dict(browser.cookies)

        def write(i: int) -> int:
            with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
                if i % 3:
                    return client.get(authorize).status_code  # a new code: several rows written
                return client.post(
                    "/user_management/users", json={"email": f"c{i}@example.com"}, headers=headers
                ).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(write, range(150)))
        assert sorted(set(statuses)) == [201, 302], statuses
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert "database is locked" not in output and "Traceback" not in output, output[-2000:]


def _worker_pids(leader: int) -> list[int]:
    """The worker processes of `authkeep serve` (not multiprocessing's resource tracker)."""
    pids = []
    for pid in Path(f"/proc/{leader}/task/{leader}/children").read_text().split():
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
    return sorted(pids)


def _socket_inodes(port: int, state: str) -> set[str]:
    """Inodes of the sockets on local `port` in a TCP state ("01" established, "0A" listen)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    inodes.add(fields[9])
    return inodes


def _holding(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
    return held


def _all_workers_listening(process: subprocess.Popen[str], port: int, count: int = 2) -> list[int]:
    """The worker pids, once `count` of them listen on `port` (the first to answer /readyz may
    be alone for a moment)."""
    deadline = time.monotonic() + 30
    while True:
        pids = _worker_pids(process.pid)
        listening = _socket_inodes(port, "0A")
        if len(pids) == count and all(_holding(pid, listening) for pid in pids):
            return pids
        assert time.monotonic() < deadline, f"workers {pids} not all listening"
        time.sleep(0.05)


def _established_per_worker(pids: list[int], port: int) -> dict[int, int]:
    """How many connections to `port` each worker process holds (from /proc, Linux)."""
    established = _socket_inodes(port, "01")
    return {pid: _holding(pid, established) for pid in pids}


def _migrated_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {
        "AUTHKEEP_DATABASE_URL": database_url,
        "AUTHKEEP_SECRET_KEY": support.SECRET,
        "AUTHKEEP_LOG_LEVEL": "warning",
    }
    authkeep("migrate", cwd=tmp_path, env=env)
    return env


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return _migrated_env(tmp_path, f"sqlite:///{tmp_path / 'workers.db'}")


def _dev_environment(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    """A development environment: its API key and client ID."""
    made = authkeep(
        "environments", "create", "dev", "--kind", "development", cwd=tmp_path, env=env
    ).stdout
    api_key = next(line.split()[-1] for line in made.splitlines() if "api_key" in line)
    client_id = next(line.split()[-1] for line in made.splitlines() if "client_id" in line)
    return api_key, client_id


def _stop(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    output, _ = process.communicate(timeout=40)
    return output


def test_connections_opened_together_spread_across_the_workers(tmp_path: Path) -> None:
    """Keep-alive clients that connect at once (an app's pool) reach every worker: each worker
    listens with a socket of its own. On one shared socket the first worker to wake took
    nearly all of them (16/0, 14/2 of 16)."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    env = _sqlite_env(tmp_path)
    port = support.free_port()
    process = start_serve(tmp_path, env, port)
    connections: list[http.client.HTTPConnection] = []
    try:
        pids = _all_workers_listening(process, port)
        ready = threading.Barrier(32)

        def connect(_: int) -> http.client.HTTPConnection:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            ready.wait()
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            return connection  # left open: keep-alive

        with ThreadPoolExecutor(max_workers=32) as pool:
            connections = list(pool.map(connect, range(32)))
        held = _established_per_worker(pids, port)
        assert sum(held.values()) == 32, held
        # By a hash of each connection's addresses: fewer than 6 of 32 on one side happens
        # about once in 10,000 runs.
        assert min(held.values()) >= 6, held
        # The workers inherit serve's -OO (test_serve_drops_docstrings_in_the_same_process).
        for pid in pids:
            assert b"-OO" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"), pid
    finally:
        for connection in connections:
            connection.close()
        output = _stop(process)
    assert process.returncode == 0 and "Traceback" not in output, output[-2000:]


def _environ(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


def test_serve_drops_docstrings_in_the_same_process(tmp_path: Path) -> None:
    """A worker keeps every module's docstrings and never reads them: `authkeep serve` runs
    under Python's -OO (PYTHONOPTIMIZE=2), replacing itself, so the PID a process manager
    started is the one that serves. An operator's own PYTHONOPTIMIZE is kept."""
    env = _sqlite_env(tmp_path)
    for given, expected in ((None, "2"), ("0", "0")):
        port = support.free_port()
        extra = {} if given is None else {"PYTHONOPTIMIZE": given}
        process = start_serve(tmp_path, env | extra, port, workers=1)
        try:
            assert _environ(process.pid).get("PYTHONOPTIMIZE") == expected
            assert _holding(process.pid, _socket_inodes(port, "0A")) == 1
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        finally:
            output = _stop(process)
        # A single worker is uvicorn's own server: it stops gracefully, then re-raises SIGTERM.
        assert process.returncode == -signal.SIGTERM, output[-2000:]
        assert "Traceback" not in output, output[-2000:]


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    port = support.free_port()
    process = start_serve(tmp_path, env, port)
    try:
        first = _all_workers_listening(process, port)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            now = _worker_pids(process.pid)
            if len(now) == 2 and first[0] not in now:
                break
            assert time.monotonic() < deadline, f"no new worker: {now}"
            time.sleep(0.1)
        # The port answers all along, and once the new worker listens it takes its share.
        replacement = next(pid for pid in now if pid not in first)
        while True:
            connections = [httpx.Client(timeout=10) for _ in range(16)]
            try:
                for client in connections:
                    assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                if _established_per_worker([replacement], port)[replacement]:
                    break
            finally:
                for client in connections:
                    client.close()
            assert time.monotonic() < deadline, "the new worker never took a connection"
            time.sleep(0.2)
    finally:
        output = _stop(process)
    assert process.returncode == 0, output[-2000:]
    assert f"worker {first[0]} exited" in output, output[-2000:]


def test_sighup_replaces_the_workers_while_the_port_keeps_answering(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    port = support.free_port()
    process = start_serve(tmp_path, env, port)
    failures: list[str] = []
    answered = 0
    polling = True

    def poll() -> None:
        nonlocal answered
        while polling:
            try:  # a new connection each time: it reaches whichever worker listens now
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
                answered += 1
                if status != 200:
                    failures.append(str(status))
            except httpx.TransportError as error:
                failures.append(repr(error))
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    try:
        before = set(_all_workers_listening(process, port))
        poller.start()
        os.kill(process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while True:
            now = set(_worker_pids(process.pid))
            if len(now) == 2 and not now & before:
                break
            assert time.monotonic() < deadline, f"workers not replaced: {before} -> {now}"
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        polling = False
        if poller.is_alive():
            poller.join()
        output = _stop(process)
    assert process.returncode == 0, output[-2000:]
    assert "replacing the workers" in output, output[-2000:]
    assert answered > 20 and not failures, (answered, failures[:5])


def test_serve_with_workers_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    # Taken by a server that shares ports too (a second `authkeep serve` started by mistake):
    # binding would succeed, so the supervisor checks that nothing answers there first.
    for reuse_port in (False, True):
        with socket.socket() as taken:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(reuse_port))
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = authkeep(
                "serve", "--port", str(port), "--workers", "2", cwd=tmp_path, env=env, check=False
            )
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


def test_workers_give_hashing_memory_back_once_sign_ins_stop(tmp_path: Path) -> None:
    """Each argon2id hash works in a 19 MiB block. A worker keeps one malloc arena, which it
    trims once hashing has been idle for a few seconds (services/passwords.py); a thread
    started before that limit got an arena of its own, whose freed blocks stay resident (a
    worker idled at 97 MB instead of 77 after the benchmark's burst of sign-ins)."""
    from concurrent.futures import ThreadPoolExecutor

    from authkeep.services.passwords import IDLE_TRIM_SECONDS
    from tests.signin.hosted import PASSWORD

    schema = support.create_postgres_schema()
    env = _migrated_env(tmp_path, support.postgres_url(schema))
    api_key, client_id = _dev_environment(tmp_path, env)
    port = support.free_port()
    process = start_serve(tmp_path, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        pids = _all_workers_listening(process, port)
        started = {pid: _rss_mb(pid) for pid in pids}
        created = httpx.post(
            f"{base}/user_management/users",
            json={"email": "m@example.com", "password": PASSWORD},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert created.status_code == 201, created.text
        body = {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": api_key,
            "email": "m@example.com",
            "password": PASSWORD,
        }

        def sign_in(_: int) -> int:
            with httpx.Client(timeout=60) as client:  # a connection each: both workers hash
                return client.post(f"{base}/user_management/authenticate", json=body).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(sign_in, range(32))) == {200}
        time.sleep(IDLE_TRIM_SECONDS + 3)
        grown = {pid: round(_rss_mb(pid) - started[pid], 1) for pid in pids}
        # Kept after the trim: what the first requests load and the connections they open
        # (5-13 MB measured), not a 19 MiB block per hashing thread (30-33 MB).
        assert max(grown.values()) < 22, grown
    finally:
        output = _stop(process)
        support.drop_postgres_schema(schema)
    assert process.returncode == 0, output[-2000:]
