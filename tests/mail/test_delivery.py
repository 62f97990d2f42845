"""The outbox delivers through a real SMTP server (smtp_sink.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from authkeep.mail.render import render_email
from authkeep.store.models import Environment
from tests import support
from tests.mail.support import (
    SmtpSink,
    enqueue_mails,
    message_id_of,
    outbox_rows,
    wait_until,
)

BRAND = {"branding": {"name": "Acme Cloud", "color": "#0a7e3d"}}
FAST = {"mail_poll_seconds": 0.2, "mail_retry_seconds": 0.3, "mail_lease_seconds": 10.0}


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    started = SmtpSink(support.free_port(), tmp_path / "inbox").start()
    yield started
    started.stop()


def start_sender_server(database_url: str, smtp_url: str) -> support.LiveServer:
    return support.start_live_server(
        database_url, smtp_url=smtp_url, mail_from="Acme <no-reply@example.com>", **FAST
    )


def test_an_enqueued_mail_is_delivered_once_with_text_html_and_branding(
    database_url: str, sink: SmtpSink
) -> None:
    environment = support.make_environment(database_url, settings=BRAND)
    server = start_sender_server(database_url, sink.url)
    try:
        [mail_id] = enqueue_mails(database_url, environment.environment_id)
        wait_until(lambda: message_id_of(mail_id) in sink.message_ids(), what="the mail")
        row = wait_until(lambda: outbox_rows(database_url, [mail_id])[mail_id].sent_at)
    finally:
        server.stop()
    messages = [m for m in sink.messages() if m["Message-ID"] == message_id_of(mail_id)]
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "person0@example.com"
    assert message["From"] == "Acme <no-reply@example.com>"
    assert message["Subject"] == "Your sign-in code for Acme Cloud"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "123456" in text.get_content() and "Acme Cloud" in text.get_content()
    html_body = html.get_content()
    assert "123456" in html_body and "#0a7e3d" in html_body and "Acme Cloud" in html_body
    rows = outbox_rows(database_url, [mail_id])
    assert row and rows[mail_id].status == "sent" and rows[mail_id].attempts == 1
    assert rows[mail_id].claimed_until is None and rows[mail_id].last_error is None


def test_a_rolled_back_transaction_sends_nothing(database_url: str, sink: SmtpSink) -> None:
    environment = support.make_environment(database_url)
    server = start_sender_server(database_url, sink.url)
    try:
        [dropped] = enqueue_mails(database_url, environment.environment_id, commit=False)
        [kept] = enqueue_mails(database_url, environment.environment_id)
        wait_until(lambda: message_id_of(kept) in sink.message_ids(), what="the committed mail")
    finally:
        server.stop()
    assert message_id_of(dropped) not in sink.message_ids()
    assert outbox_rows(database_url, [dropped]) == {}


def test_a_mail_enqueued_while_smtp_is_down_waits_and_goes_out_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    environment = support.make_environment(database_url)
    sink = SmtpSink(support.free_port(), tmp_path / "inbox")  # not started yet
    server = start_sender_server(database_url, sink.url)
    try:
        [mail_id] = enqueue_mails(database_url, environment.environment_id)
        row = wait_until(
            lambda: outbox_rows(database_url, [mail_id])[mail_id].last_error,
            what="a failed attempt",
        )
        pending = outbox_rows(database_url, [mail_id])[mail_id]
        assert pending.status == "pending" and pending.attempts >= 1
        assert "127.0.0.1" in str(row) and "s3cret" not in str(row)
        sink.start()
        try:
            wait_until(lambda: message_id_of(mail_id) in sink.message_ids(), what="delivery")
            wait_until(lambda: outbox_rows(database_url, [mail_id])[mail_id].status == "sent")
            sent = outbox_rows(database_url, [mail_id])[mail_id]
            assert sink.message_ids().count(message_id_of(mail_id)) == 1
            assert sent.attempts >= 2 and sent.sent_at is not None
        finally:
            sink.stop()
    finally:
        server.stop()


def test_wrong_smtp_credentials_are_retried_and_never_shown(
    database_url: str, sink: SmtpSink
) -> None:
    environment = support.make_environment(database_url)
    wrong = sink.url.replace("s3cret%3Apass", "nope-password")
    server = start_sender_server(database_url, wrong)
    try:
        [mail_id] = enqueue_mails(database_url, environment.environment_id)
        error = wait_until(lambda: outbox_rows(database_url, [mail_id])[mail_id].last_error)
    finally:
        server.stop()
    # aiosmtpd answers 535 and then leaves the client waiting: either way, a retry, no secret.
    assert "nope-password" not in error and "s3cret" not in error
    assert outbox_rows(database_url, [mail_id])[mail_id].status == "pending"
    # A sender with the right password, later, delivers it.
    server = start_sender_server(database_url, sink.url)
    try:
        wait_until(lambda: message_id_of(mail_id) in sink.message_ids(), timeout=30)
    finally:
        server.stop()


def test_templates_refuse_a_wrong_context() -> None:
    environment = Environment(id="environment_x", name="Acme", kind="development", settings={})
    with pytest.raises(ValueError, match="missing \\['code'\\]"):
        render_email(environment, "magic_auth", "a@example.com", {"expires_in_minutes": 10})
    with pytest.raises(ValueError, match="unknown \\['colour'\\]"):
        render_email(
            environment,
            "password_reset",
            "a@example.com",
            {"url": "https://x", "expires_in_minutes": 15, "colour": "red"},
        )
    with pytest.raises(ValueError, match="unknown e-mail template"):
        render_email(environment, "welcome", "a@example.com", {})
    invitation = render_email(
        environment,
        "invitation",
        "a@example.com",
        {
            "url": "https://app.test/accept?invitation_token=abc",
            "expires_in_days": 7,
            "inviter_name": "Ada",
            "organization_name": "Foo\r\nBcc: victim@example.com",
        },
    )
    assert invitation.subject == "Ada invited you to join Foo Bcc: victim@example.com"
    assert "https://app.test/accept?invitation_token=abc" in invitation.text
    assert "invitation_token=abc" in invitation.html
