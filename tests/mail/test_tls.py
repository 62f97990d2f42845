"""Delivery over TLS: STARTTLS and TLS from the first byte, to a real SMTP server whose
certificate comes from a test CA; the certificate is always verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from authkeep.config import Settings, production_problems
from authkeep.mail.transport import parse_smtp_url
from tests import support
from tests.mail.support import (
    SmtpSink,
    enqueue_mails,
    make_tls_files,
    message_id_of,
    outbox_rows,
    wait_until,
)
from tests.mail.test_delivery import start_sender_server


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_mail_goes_out_over_tls_verified_against_the_configured_ca(
    database_url: str, tmp_path: Path, mode: str
) -> None:
    tls = make_tls_files(tmp_path, mode)
    sink = SmtpSink(support.free_port(), tmp_path / "inbox", tls=tls).start()
    environment = support.make_environment(database_url)
    server = start_sender_server(database_url, sink.url)
    try:
        [mail_id] = enqueue_mails(database_url, environment.environment_id)
        wait_until(lambda: message_id_of(mail_id) in sink.message_ids(), what="the mail")
        wait_until(lambda: outbox_rows(database_url, [mail_id])[mail_id].sent_at, what="sent")
    finally:
        server.stop()
        sink.stop()
    assert [m["Message-ID"] for m in sink.messages()] == [message_id_of(mail_id)]


def test_an_unverifiable_certificate_keeps_the_mail_and_says_why(
    database_url: str, tmp_path: Path
) -> None:
    tls = make_tls_files(tmp_path, "implicit")
    sink = SmtpSink(support.free_port(), tmp_path / "inbox", tls=tls).start()
    without_ca = sink.url.split("?")[0]  # the system's trust store does not know the test CA
    environment = support.make_environment(database_url)
    server = start_sender_server(database_url, without_ca)
    try:
        [mail_id] = enqueue_mails(database_url, environment.environment_id)
        row = wait_until(
            lambda: (r := outbox_rows(database_url, [mail_id])[mail_id]).last_error and r,
            what="a failed attempt",
        )
    finally:
        server.stop()
        sink.stop()
    assert row.status == "pending" and row.sent_at is None  # kept, to be retried
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error or "certificate" in row.last_error
    assert sink.messages() == []


def test_smtp_url_options_are_checked_before_serving(tmp_path: Path) -> None:
    assert parse_smtp_url("smtps://u:p@mail.test:465?ca_file=/etc/ca.pem").ca_file == "/etc/ca.pem"
    with pytest.raises(ValueError, match="unknown option 'verify'"):
        parse_smtp_url("smtp://mail.test:587?verify=false")
    base = {"database_url": "postgresql://db/x", "secret_key": "k" * 40, "mail_from": "a@b.c"}
    missing = production_problems(
        Settings(**base, smtp_url=f"smtps://mail.test:465?ca_file={tmp_path / 'nope.pem'}")
    )
    assert any("ca_file" in problem for problem in missing)
    unknown = production_problems(Settings(**base, smtp_url="smtp://mail.test:587?tls=off"))
    assert any("unknown option 'tls'" in problem for problem in unknown)
