"""`authkeep serve --workers N`: N uvicorn workers, each listening on the port with a socket of
its own (SO_REUSEPORT), so the kernel spreads connections across them.

uvicorn's own supervisor hands every worker one shared listening socket, and whichever worker
wakes first accepts every connection waiting there. Clients that open their connections
together (an app's keep-alive pool, a proxy's upstream connections) then mostly land on one
worker and stay there while the others idle: of 16 connections opened at once, 16/0, 14/2 and
13/3 were typical splits between two workers. With a socket per worker, each new connection
goes to one of them by a hash of its addresses.

The supervisor holds the port from the start (a bound socket that never listens, so a port in
use fails before any worker starts), starts the workers, starts a new one when a worker dies,
and on SIGINT or SIGTERM stops them all gracefully. A worker that cannot start (exit code 3, as
uvicorn's) stops the server: it would fail the same way every time.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from typing import Any

STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that failed before serving
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SHUTDOWN_SECONDS = 30.0  # after which a worker still finishing its requests is killed
RESTART_PAUSE = 1.0  # between restarts of a worker that keeps dying right after it started


def _say(message: str) -> None:
    print(f"authkeep: {message}", file=sys.stderr, flush=True)


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other sockets of this user may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def worker(options: dict[str, Any], host: str, port: int) -> None:
    """One worker process: its own listening socket, then uvicorn until it is told to stop."""
    import uvicorn

    config = uvicorn.Config(**options)
    try:
        sock = bind(host, port)
    except OSError as error:
        print(f"authkeep worker: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port (a wildcard host: on loopback)."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
    target = wildcard.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


class Supervisor:
    def __init__(self, options: dict[str, Any], workers: int, host: str, port: int) -> None:
        self.options = options
        self.count = workers
        self.host = host
        self.port = port
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = []
        self.started_at: list[float] = []
        self.stopping: list[int] = []

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; 0, or 1 when a worker could not start. OSError when
        the port is taken, also by another server that listens with SO_REUSEPORT (a second
        `authkeep serve` by mistake), which binding alone would not reveal."""
        if self.port and _answers(self.host, self.port):
            raise OSError(errno.EADDRINUSE, "a server already listens there")
        reservation = bind(self.host, self.port)
        self.port = reservation.getsockname()[1]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        failed = False
        try:
            for _ in range(self.count):
                self.processes.append(self._start())
                self.started_at.append(time.monotonic())
            while not self.stopping:
                time.sleep(0.2)
                failed = self._replace_dead()
                if failed:
                    break
        finally:
            self._stop_all()
            reservation.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if failed else 0

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping.append(signum)

    def _start(self) -> BaseProcess:
        process = self.context.Process(
            target=worker,
            args=(self.options, self.host, self.port),
            name="authkeep-worker",
        )
        process.start()
        return process

    def _replace_dead(self) -> bool:
        """Start a new worker for each that died; True when one failed to start."""
        for index, process in enumerate(self.processes):
            if process.is_alive() or self.stopping:
                continue
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                _say(f"worker {process.pid} could not start; stopping")
                return True
            _say(f"worker {process.pid} exited with code {process.exitcode}; starting another")
            if time.monotonic() - self.started_at[index] < RESTART_PAUSE:
                time.sleep(RESTART_PAUSE)
            self.processes[index] = self._start()
            self.started_at[index] = time.monotonic()
        return False

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()  # SIGTERM: uvicorn finishes open requests, then exits
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
