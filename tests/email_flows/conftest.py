"""A live server that delivers its mail to a real SMTP server process (tests/mail/smtp_sink.py),
one pair per database, and helpers that read codes out of the received mail."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from workos import WorkOSClient

from tests import support
from tests.conformance import ConformanceRecorder
from tests.mail.support import SmtpSink, wait_until
from tests.signin.hosted import signin_environment

FAST = {"mail_poll_seconds": 0.2, "mail_retry_seconds": 0.3, "mail_lease_seconds": 10.0}
# The code ends the first line ("... code for Acme: 123456"); the brand may hold digits too.
_CODE = re.compile(r": (\d{6})\r?$", re.MULTILINE)


class Inbox:
    """What the SMTP server received, read by recipient."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    def mails_to(self, address: str) -> list[str]:
        texts = []
        for message in self.sink.messages():
            if str(message["To"]) == address:
                body = message.get_body(("plain",))
                assert body is not None
                texts.append(f"Subject: {message['Subject']}\n\n{body.get_content()}")
        return texts

    def code_for(self, address: str, count: int = 1) -> str:
        """The code of the `count`-th mail to `address` (waiting for it to arrive)."""
        texts = wait_until(
            lambda: (m := self.mails_to(address)) and len(m) >= count and m,
            what=f"mail #{count} to {address}",
        )
        found = _CODE.search(texts[count - 1].split("\n\n", 1)[1])
        assert found, texts[count - 1]
        return found.group(1)


@pytest.fixture(scope="module")
def mail_server(
    database_url: str, recorder: ConformanceRecorder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[support.LiveServer, SmtpSink]]:
    sink = SmtpSink(support.free_port(), tmp_path_factory.mktemp("inbox")).start()
    server = support.start_live_server(
        database_url,
        wrap=recorder.wrap,
        smtp_url=sink.url,
        mail_from="Acme <no-reply@example.com>",
        **FAST,
    )
    yield server, sink
    server.stop()
    sink.stop()


@pytest.fixture
def inbox(mail_server: tuple[support.LiveServer, SmtpSink]) -> Inbox:
    return Inbox(mail_server[1])


@pytest.fixture
def env(
    mail_server: tuple[support.LiveServer, SmtpSink], database_url: str
) -> support.TestEnvironment:
    return signin_environment(database_url, mail_server[0].base_url)


@pytest.fixture
def admin(env: support.TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=env.base_url, headers={"Authorization": f"Bearer {env.api_key}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def sdk(env: support.TestEnvironment) -> WorkOSClient:
    return WorkOSClient(
        api_key=env.api_key, client_id=env.client_id, base_url=env.base_url, request_timeout=10
    )


@pytest.fixture
def browser(env: support.TestEnvironment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=env.base_url, follow_redirects=False, timeout=10) as client:
        yield client
