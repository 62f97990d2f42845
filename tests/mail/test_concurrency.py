"""Several senders on one PostgreSQL database, and a sender killed mid-batch (SIGKILL).

The bound under test (authkeep.mail.sender): every mail is delivered; without a crash each is
delivered exactly once; a sender killed while one mail is in flight (the SMTP server has it, the
`sent` mark is not committed) causes at most one duplicate, carrying the same Message-ID.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import support
from tests.mail.support import SmtpSink, enqueue_mails, message_id_of, outbox_rows, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    schema = support.create_postgres_schema()
    url = support.postgres_url(schema)
    try:
        support.migrate_database(url)
        yield url
    finally:
        support.drop_postgres_schema(schema)


def test_two_nodes_deliver_each_mail_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    environment = support.make_environment(postgres_url)
    sink = SmtpSink(support.free_port(), tmp_path / "inbox", delay=0.02).start()
    options = {
        "smtp_url": sink.url,
        "mail_from": "Acme <no-reply@example.com>",
        "mail_poll_seconds": 0.2,
        "mail_lease_seconds": 30.0,
    }
    nodes = [support.start_live_server(postgres_url, **options) for _ in range(2)]
    try:
        ids = enqueue_mails(postgres_url, environment.environment_id, count=40)
        wanted = {message_id_of(mail_id) for mail_id in ids}
        wait_until(lambda: wanted <= set(sink.message_ids()), timeout=60, what="40 mails")
        rows = wait_until(
            lambda: (
                (r := outbox_rows(postgres_url, ids))
                and all(row.status == "sent" for row in r.values())
                and r
            )
        )
    finally:
        for node in nodes:
            node.stop()
        sink.stop()
    counts = collections.Counter(m for m in sink.message_ids() if m in wanted)
    assert set(counts.values()) == {1}, counts.most_common(3)
    assert {row.attempts for row in rows.values()} == {1}


def serve(postgres_url: str, sink: SmtpSink, log: Path) -> subprocess.Popen[bytes]:
    port = support.free_port()
    env = {
        **os.environ,
        "AUTHKEEP_DATABASE_URL": postgres_url,
        "AUTHKEEP_SECRET_KEY": support.SECRET,
        "AUTHKEEP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUTHKEEP_PORT": str(port),
        "AUTHKEEP_LOG_LEVEL": "warning",
        "AUTHKEEP_SMTP_URL": sink.url,
        "AUTHKEEP_MAIL_FROM": "Acme <no-reply@example.com>",
        "AUTHKEEP_MAIL_POLL_SECONDS": "0.2",
        "AUTHKEEP_MAIL_RETRY_SECONDS": "0.5",
        "AUTHKEEP_MAIL_LEASE_SECONDS": "6",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "authkeep.cli", "serve"], env=env, stdout=out, stderr=out
        )


def test_a_node_killed_mid_batch_loses_nothing_and_duplicates_at_most_the_mail_in_flight(
    postgres_url: str, tmp_path: Path
) -> None:
    environment = support.make_environment(postgres_url)
    # Each mail is on disk 0.3 s before the server says 250: a kill then lands in that window.
    sink = SmtpSink(support.free_port(), tmp_path / "inbox", delay=0.3).start()
    log = tmp_path / "serve.log"
    ids = enqueue_mails(postgres_url, environment.environment_id, count=20)
    wanted = {message_id_of(mail_id) for mail_id in ids}
    first = serve(postgres_url, sink, log)
    second = None
    try:
        wait_until(lambda: len(sink.message_ids()) >= 4, timeout=60, what="a few deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = outbox_rows(postgres_url, ids)
        received_at_kill = len(sink.message_ids())
        stranded = [row for row in at_kill.values() if row.status == "pending" and row.claimed_by]
        assert stranded, "the killed node held no claimed mails: the kill was not mid-batch"

        second = serve(postgres_url, sink, log)
        wait_until(lambda: wanted <= set(sink.message_ids()), timeout=60, what="all 20 mails")
        rows = wait_until(
            lambda: (
                (r := outbox_rows(postgres_url, ids))
                and all(row.status == "sent" for row in r.values())
                and r
            ),
            timeout=30,
        )
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        sink.stop()
    counts = collections.Counter(m for m in sink.message_ids() if m in wanted)
    duplicates = {mid: n for mid, n in counts.items() if n > 1}
    assert set(counts) == wanted
    # One kill, one mail in flight at most: at most one mail twice, never three times.
    assert len(duplicates) <= 1 and all(n == 2 for n in duplicates.values()), duplicates
    for message_id in duplicates:
        row = rows[message_id.strip("<>").split("@")[0]]
        assert row.attempts == 2  # claimed by the killed node, then by the new one
    print(
        f"received {received_at_kill} before the kill, {len(stranded)} stranded claims, "
        f"duplicates: {duplicates or 'none'}"
    )
