"""Where the failure alerts go in tests: a real SMTP server (aiosmtpd, with AUTH LOGIN/PLAIN) and a
real webhook receiver (http.server), both on loopback, started by the test; and the Airflow
connections (``AIRFLOW_CONN_<ID>`` in the environment) that point the notifier at them."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SMTP_LOGIN, SMTP_PASSWORD = "alerts", "smtp-Pa55-word-7f3a"
WEBHOOK_TOKEN = "hook-t0ken-91c2e7"
RECIPIENTS = "data-team@example.com,oncall@example.com"
MAIL_CONN_ID, HOOK_CONN_ID = "ugc_alert_mail", "ugc_alert_hook"


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    subject: str
    body: str  # every text part, decoded
    raw: str


@dataclass
class SmtpReceiver:
    port: int = 0
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    port: int = 0
    posts: list[Post] = field(default_factory=list)


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpReceiver]:
    """An SMTP server on 127.0.0.1 that takes one login and keeps every message."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
            receiver.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), str(message["Subject"]),
                                       "\n".join(parts), envelope.content.decode("utf-8", "replace")))
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
            SMTP_LOGIN, SMTP_PASSWORD)
        if ok:
            receiver.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    with socket.socket() as probe:  # aiosmtpd checks its server by connecting to the port: no port 0
        probe.bind(("127.0.0.1", 0))
        receiver.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=receiver.port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


@contextlib.contextmanager
def webhook_server() -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and keeps it."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        receiver.port = server.server_address[1]
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def alert_connections(smtp: SmtpReceiver | None, hook: WebhookReceiver | None) -> dict[str, str]:
    """The environment that points ``UGC_ALERT_CONN_IDS`` at the receivers (Airflow connections
    in ``AIRFLOW_CONN_<ID>`` JSON form, as a deployment's ``.env`` would give them)."""
    env, ids = {}, []
    if smtp is not None:
        env[f"AIRFLOW_CONN_{MAIL_CONN_ID.upper()}"] = json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": SMTP_LOGIN,
            "password": SMTP_PASSWORD, "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10,
                                                 "retry_limit": 1, "from_email": "airflow@example.com",
                                                 "to": RECIPIENTS}})
        ids.append(MAIL_CONN_ID)
    if hook is not None:
        env[f"AIRFLOW_CONN_{HOOK_CONN_ID.upper()}"] = json.dumps({
            "conn_type": "http", "host": "127.0.0.1", "port": hook.port, "schema": "http",
            "password": WEBHOOK_TOKEN, "extra": {"endpoint": "/services/T000/B000/alerts"}})
        ids.append(HOOK_CONN_ID)
    env["UGC_ALERT_CONN_IDS"] = ",".join(ids)
    return env
