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
replaces them one at a time on SIGHUP (as uvicorn's does), and on SIGINT or SIGTERM stops them
all gracefully. A worker that fails before it listens (uvicorn's exit code 3, or any other
error exit) stops the server: it would fail the same way every time.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Any

STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that failed before serving
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SHUTDOWN_SECONDS = 30.0  # after which a worker still finishing its requests is killed
RESTART_PAUSE = 1.0  # between restarts of a worker that keeps dying right after it started
READY_SECONDS = 60.0  # for a new worker to listen, when SIGHUP replaces the workers


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


def worker(options: dict[str, Any], host: str, port: int, ready: Event) -> None:
    """One worker process: its own listening socket, then uvicorn until it is told to stop.
    `ready` is set once it listens and its app has started."""
    import uvicorn

    from authkeep.services.passwords import share_one_allocator_arena

    share_one_allocator_arena()  # before the thread below: see its docstring
    config = uvicorn.Config(**options)
    try:
        sock = bind(host, port)
    except OSError as error:
        print(f"authkeep worker: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            ready.set()

    threading.Thread(target=announce, name="authkeep-ready", daemon=True).start()
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
        self.ready: list[Event] = []  # kept here: the child opens it by name
        self.started_at: list[float] = []
        self.stopping: list[int] = []
        self.restarts: list[int] = []

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; 0, or 1 when a worker could not start. OSError when
        the port is taken, also by another server that listens with SO_REUSEPORT (a second
        `authkeep serve` by mistake), which binding alone would not reveal."""
        if self.port and _answers(self.host, self.port):
            raise OSError(errno.EADDRINUSE, "a server already listens there")
        reservation = bind(self.host, self.port)
        self.port = reservation.getsockname()[1]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hangup)
        failed = False
        try:
            for _ in range(self.count):
                process, ready = self._start()
                self.processes.append(process)
                self.ready.append(ready)
                self.started_at.append(time.monotonic())
            while not self.stopping:
                time.sleep(0.2)
                failed = self._replace_dead()
                if failed:
                    break
                if self.restarts:
                    self.restarts.clear()
                    self._restart_all()
        finally:
            self._stop_all()
            reservation.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if failed else 0

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping.append(signum)

    def _on_hangup(self, signum: int, frame: object) -> None:
        self.restarts.append(signum)

    def _start(self) -> tuple[BaseProcess, Event]:
        ready = self.context.Event()
        process = self.context.Process(
            target=worker,
            args=(self.options, self.host, self.port, ready),
            name="authkeep-worker",
        )
        process.start()
        return process, ready

    def _restart_all(self) -> None:
        """SIGHUP: replace the workers one at a time (new code after an upgrade), each new one
        listening before the old one stops, so the port never goes unanswered."""
        _say("SIGHUP: replacing the workers one at a time")
        for index, old in enumerate(self.processes):
            new, ready = self._start()
            deadline = time.monotonic() + READY_SECONDS
            while not ready.wait(0.1):
                if self.stopping or not new.is_alive() or time.monotonic() > deadline:
                    new.kill()
                    new.join()
                    if not self.stopping:
                        _say(f"a new worker did not start; keeping worker {old.pid}")
                    return
            with contextlib.suppress(ProcessLookupError):
                old.terminate()
            old.join(SHUTDOWN_SECONDS)
            if old.is_alive():
                old.kill()
                old.join()
            self.processes[index], self.ready[index] = new, ready
            self.started_at[index] = time.monotonic()

    def _replace_dead(self) -> bool:
        """Start a new worker for each that died; True when one failed to start."""
        for index, process in enumerate(self.processes):
            if process.is_alive() or self.stopping:
                continue
            process.join()
            code = process.exitcode
            # Killed by a signal (negative code: OOM, an operator) is no reason to stop.
            if code == STARTUP_FAILURE or (not self.ready[index].is_set() and (code or 0) > 0):
                _say(f"worker {process.pid} could not start (exit code {code}); stopping")
                return True
            _say(f"worker {process.pid} exited with code {process.exitcode}; starting another")
            if time.monotonic() - self.started_at[index] < RESTART_PAUSE:
                time.sleep(RESTART_PAUSE)
            self.processes[index], self.ready[index] = self._start()
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
