"""Fault: the SMTP server is down while someone signs up where verified e-mails are required.
The sign-up still succeeds (the mail waits in the outbox, committed with the user), the person
sees the code page, and the code arrives once the SMTP server is back and signs them in."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select
from workos import WorkOSClient

from authkeep.store.db import create_engine, session_factory
from authkeep.store.models import OutboxEmail
from tests import support
from tests.conformance import ConformanceRecorder
from tests.email_flows.conftest import FAST, Inbox
from tests.email_flows.test_hosted_pages import post_form
from tests.mail.support import SmtpSink, wait_until
from tests.signin.hosted import CALLBACK, PASSWORD, callback_of, open_form, signin_environment


def outbox_of(database_url: str, environment_id: str) -> list[OutboxEmail]:
    async def go() -> list[OutboxEmail]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                rows = await session.scalars(
                    select(OutboxEmail).where(OutboxEmail.environment_id == environment_id)
                )
                return list(rows)
        finally:
            await engine.dispose()

    return support.run(go())


def test_sign_up_succeeds_while_smtp_is_down_and_the_code_arrives_when_it_is_back(
    database_url: str, recorder: ConformanceRecorder, tmp_path: Path
) -> None:
    sink = SmtpSink(support.free_port(), tmp_path / "inbox")  # not listening yet
    server = support.start_live_server(
        database_url,
        wrap=recorder.wrap,
        smtp_url=sink.url,
        mail_from="Acme <no-reply@example.com>",
        **FAST,
    )
    try:
        env = signin_environment(database_url, server.base_url, email_verification_required=True)
        sdk = WorkOSClient(api_key=env.api_key, client_id=env.client_id, base_url=env.base_url)
        url = sdk.user_management.get_authorization_url(
            provider="authkit", redirect_uri=CALLBACK, screen_hint="sign-up"
        )
        with httpx.Client(base_url=env.base_url, follow_redirects=False) as browser:
            form = open_form(browser, url)
            step = post_form(
                browser, "/authkit/sign-up", form, email="late@example.com", password=PASSWORD
            )
            assert step.status_code == 302 and "/authkit/verify-email" in step.headers["location"]
            page = browser.get(step.headers["location"])
            assert page.status_code == 200
            failed = wait_until(
                lambda: [m for m in outbox_of(database_url, env.environment_id) if m.last_error],
                what="a failed delivery attempt",
            )
            assert failed[0].status == "pending" and failed[0].to == "late@example.com"

            sink.start()
            code = Inbox(sink).code_for("late@example.com")
            assert len(Inbox(sink).mails_to("late@example.com")) == 1
            callback = callback_of(post_form(browser, "/authkit/verify-email", page, code=code))
        auth = sdk.user_management.authenticate_with_code(code=callback.code or "")
        assert auth.user.email == "late@example.com" and auth.user.email_verified is True
    finally:
        server.stop()
        sink.stop()
