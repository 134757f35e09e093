"""Helpers of the operations tests: ``ugc-pipeline`` as a real process, a process holding a lock,
and TCP endpoints that refuse, stay silent, or let a given number of connections through."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ugc_pipeline.settings import SETTING_NAMES

BIN = Path(sys.executable).parent


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """The test session's environment without any UGC_* setting, plus ``extra``; validation in
    memory (no GX files), no HTML report, Python unbuffered."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update({"UGC_GX_DIR": "", "UGC_REPORT_DIR": "", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class Cli:
    """One ``ugc-pipeline`` process; its stdout and stderr go to ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path):
        self.log = log
        self.started = time.monotonic()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([str(BIN / "ugc-pipeline"), *args], stdout=out, stderr=subprocess.STDOUT,
                                         env=base_env(env), cwd=cwd)
        self.pid = self.proc.pid

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 120) -> float:
        """Wait until ``text`` is in the output; returns the seconds since the start."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, f"exited {self.proc.returncode} before {text!r}:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n{self.output[-3000:]}"
            time.sleep(0.1)
        return time.monotonic() - self.started

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout} s:\n{self.output[-3000:]}") from None

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


class Holder:
    """Another process holding something until ``release()`` (or for ``seconds``): Python code
    that prints ``held`` once it holds it."""

    def __init__(self, code: str, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=base_env(env or {}))
        line = self.proc.stdout.readline()
        assert line.strip() == "held", f"{line!r} {self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.pid = self.proc.pid

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # the holder waits on stdin, then exits
            self.proc.wait(30)

    def __enter__(self) -> Holder:
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


def hold_run_lock(path: Path, what: str) -> Holder:
    """A process holding a run lock file the way ``ugc-pipeline run`` does."""
    return Holder(f"""
import sys
from pathlib import Path
from ugc_pipeline.runner import exclusive
with exclusive(Path({str(path)!r}), {what!r}, 0):
    print("held", flush=True)
    sys.stdin.read()
""")


def hold_duckdb(path: Path, seconds: float | None = None) -> Holder:
    """A process with the DuckDB file open for writing (DuckDB's own OS lock on the file), taken
    as soon as nobody else has it."""
    wait = f"time.sleep({seconds})" if seconds is not None else "sys.stdin.read()"
    return Holder(f"""
import sys, time, duckdb
while True:
    try:
        conn = duckdb.connect({str(path)!r})
        break
    except duckdb.IOException:
        time.sleep(0.01)
print("held", flush=True)
{wait}
conn.close()
""")


def closed_port() -> int:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """Accepts TCP connections (the kernel completes the handshake) and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class Forwarder:
    """A TCP proxy to ``target`` that lets the first ``allow`` connections through, then stops
    listening: later connections are refused (a warehouse that went away)."""

    def __init__(self, target: tuple[str, int], allow: int):
        self.target, self.allow = target, allow
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.forwarded = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            while self.forwarded < self.allow:
                client, _ = self.sock.accept()
                upstream = socket.create_connection(self.target)
                self.forwarded += 1
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
        finally:
            self.sock.close()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
