"""The dev mailbox: mails of a dev deployment are marked sent, printed, and listed as HTML and
JSON; a production deployment has no mailbox."""

from __future__ import annotations

import httpx
import pytest

from authkeep.config import Settings, production_problems
from tests import support
from tests.mail.support import enqueue_mails, outbox_rows, wait_until

INVITATION = {
    "url": "https://app.test/accept?invitation_token=tok123",
    "expires_in_days": 7,
    "inviter_name": "Ada Lovelace",
    "organization_name": "Analytical Engines",
}


def test_dev_mailbox_lists_and_shows_mails_newest_first(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    environment = support.make_environment(database_url)
    server = support.start_live_server(database_url, dev_mailbox=True, mail_poll_seconds=0.2)
    try:
        [code_mail] = enqueue_mails(database_url, environment.environment_id)
        [invite] = enqueue_mails(
            database_url, environment.environment_id, template="invitation", context=INVITATION
        )
        with httpx.Client(base_url=server.base_url, timeout=10) as http:

            def listed() -> list[dict[str, object]]:
                body = http.get(
                    "/_authkeep/mailbox.json",
                    params={"environment_id": environment.environment_id},
                ).json()
                done = [m for m in body["data"] if m["status"] == "sent"]
                return body["data"] if len(done) == 2 else []

            mails = wait_until(listed, what="both mails in the mailbox")
            assert [m["id"] for m in mails] == [invite, code_mail]
            assert mails[1]["code"] == "123456" and mails[1]["template"] == "magic_auth"
            assert mails[0]["links"] == [INVITATION["url"]] and mails[0]["code"] is None
            assert mails[0]["subject"] == "Ada Lovelace invited you to join Analytical Engines"
            assert mails[0]["environment_name"] == environment.name

            only = http.get("/_authkeep/mailbox.json", params={"to": "person0@example.com"})
            assert {m["to"] for m in only.json()["data"]} == {"person0@example.com"}

            page = http.get("/_authkeep/mailbox")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert "Analytical Engines" in page.text and f"/_authkeep/mailbox/{invite}" in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

            one = http.get(f"/_authkeep/mailbox/{invite}")
            assert one.status_code == 200
            assert f'<a href="{INVITATION["url"]}">' in one.text
            assert f'src="/_authkeep/mailbox/{invite}/html" sandbox=' in one.text

            framed = http.get(f"/_authkeep/mailbox/{invite}/html")
            assert "sandbox" in framed.headers["content-security-policy"]
            assert "script-src" not in framed.headers["content-security-policy"]
            assert framed.headers["x-frame-options"] == "SAMEORIGIN"
            assert "invitation_token=tok123" in framed.text

            assert http.get("/_authkeep/mailbox/email_nope").status_code == 404
    finally:
        server.stop()
    rows = outbox_rows(database_url, [code_mail, invite])
    assert {row.status for row in rows.values()} == {"sent"}
    printed = capfd.readouterr().out
    assert "Subject: Your sign-in code for" in printed and "123456" in printed
    assert INVITATION["url"] in printed


def test_a_production_deployment_has_no_mailbox(database_url: str) -> None:
    server = support.start_live_server(database_url)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for path in (
                "/_authkeep/mailbox",
                "/_authkeep/mailbox.json",
                "/_authkeep/mailbox/email_01",
                "/_authkeep/mailbox/email_01/html",
            ):
                response = http.get(path)
                assert response.status_code == 404, path
                assert response.json()["code"] == "not_found"
    finally:
        server.stop()


def test_serve_refuses_the_dev_mailbox_and_smtp_without_a_from_address() -> None:
    base = {"database_url": "postgresql://x/y", "secret_key": "s" * 32}
    assert any(
        "AUTHKEEP_DEV_MAILBOX" in p for p in production_problems(Settings(**base, dev_mailbox=True))
    )
    problems = production_problems(Settings(**base, smtp_url="smtp://user:pw@mail.test:587"))
    assert any("AUTHKEEP_MAIL_FROM" in p for p in problems)
    assert not any("pw" in p.split() for p in problems)
    problems = production_problems(Settings(**base, smtp_url="http://mail.test", mail_from="a@b.c"))
    assert any("smtp://" in p for p in problems)
    assert "pw@" not in repr(Settings(smtp_url="smtp://user:pw@mail.test"))
