"""A local SFTP server on loopback, for the tests of the SFTP pulls (the retailer's review feed).

``SFTPStandIn(root)`` serves the folder ``root`` as ``/`` (chroot) on 127.0.0.1 and a random
port, over asyncssh running its own event loop in a background thread, with a host key generated
for the run and password authentication (one user). It records every login attempt, every file
opened and every directory listed, and can be told to drop the next connections before the SSH
banner (a network failure). Used as a context manager: leaving it closes the client connections,
the listener and the loop, and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import asyncssh


@dataclass
class Login:
    username: str
    accepted: bool


class SFTPStandIn:
    def __init__(self, root: Path, username: str, password: str) -> None:
        self.root, self.username, self.password = Path(root), username, password
        self.logins: list[Login] = []  # every password attempt, in order
        self.opened: list[str] = []  # paths opened (as the client named them), in order
        self.listed: list[str] = []  # directories listed
        self.connections = 0  # TCP connections accepted (dropped ones included)
        self.drop = 0  # the next ``drop`` connections are closed at once (no SSH banner)
        self._lock = threading.Lock()
        self._conns: list[asyncssh.SSHServerConnection] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-stand-in", daemon=True)
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.port = 0

    # -- what a test sets up and reads ------------------------------------------------------------
    def put(self, remote_path: str, body: bytes) -> bytes:
        """Place a file on the server (``remote_path`` from the served root); returns its bytes."""
        target = self.root / remote_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return body

    def drop_next(self, times: int = 1) -> None:
        with self._lock:
            self.drop += times

    # -- life cycle --------------------------------------------------------------------------------
    def __enter__(self) -> SFTPStandIn:
        self.root.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        self.port = self._acceptor.get_port()
        return self

    def __exit__(self, *exc) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _start(self) -> asyncssh.SSHAcceptor:
        stand_in = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                with stand_in._lock:
                    stand_in.connections += 1
                    drop = stand_in.drop > 0
                    stand_in.drop -= drop
                    stand_in._conns.append(conn)
                if drop:
                    conn.abort()

            def begin_auth(self, username: str) -> bool:
                return True  # authentication is required

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                accepted = username == stand_in.username and password == stand_in.password
                with stand_in._lock:
                    stand_in.logins.append(Login(username, accepted))
                return accepted

        class Files(asyncssh.SFTPServer):
            def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):
                with stand_in._lock:
                    stand_in.opened.append(path.decode())
                return super().open(path, pflags, attrs)

            def scandir(self, path: bytes):
                with stand_in._lock:
                    stand_in.listed.append(path.decode())
                return super().scandir(path)

        root = str(self.root)
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            server_factory=Server, sftp_factory=lambda chan: Files(chan, chroot=root.encode()),
            allow_scp=False, login_timeout=10)

    async def _stop(self) -> None:
        assert self._acceptor is not None
        self._acceptor.close()
        await self._acceptor.wait_closed()
        for conn in list(self._conns):
            conn.close()
            await conn.wait_closed()
