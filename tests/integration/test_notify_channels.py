"""The notifier asks only about the channels it sends (migration 0057). A process without SMTP or
a mail directory sends webhooks alone; emails wait in the table for a process that sends them.
Its questions ("which messages are due", "when is the next one due") were planned once, without
the channels, on an index ordered by due time alone, so every question read past every waiting
email: 7,927 rows and 4.5 ms a question in the bench, several questions a second. Now each
question reads one range of an index that leads with the channel. Counted with the table's own
statistics over a few seconds of polling, with 3,000 emails waiting."""

import time

import harness as h

BACKLOG = 3000


def reads(url):
    """Entries read from each index of notify_messages so far (the table's own sequential reads
    under the name "table"), and the index scans of them all."""
    rows = h.psql(url, "SELECT i.indexrelname, i.idx_tup_read, i.idx_scan FROM "
                       "pg_stat_user_indexes i WHERE i.relname = 'notify_messages' UNION ALL "
                       "SELECT 'table', seq_tup_read, 0 FROM pg_stat_user_tables "
                       "WHERE relname = 'notify_messages'")
    return {r[0]: int(r[1]) for r in rows}, sum(int(r[2]) for r in rows)


def sessions_ended(url):
    """Waits until the server's sessions have ended and so handed in their statistics (a
    session leaves pg_stat_activity a moment before its last counts are flushed)."""
    h.wait_until(lambda: h.scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                        "current_database() AND application_name LIKE "
                                        "'logeerd%'") == "0", 10 * h.SCALE)
    time.sleep(0.5 * h.SLACK)


def test_a_process_without_email_reads_past_no_waiting_email():
    url = h.migrated_database(seed=True)
    h.psql(url, "INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, "
                "data) SELECT -g, 'test.waiting', 'email', (SELECT id FROM users ORDER BY id "
                f"LIMIT 1), 'test', '{{}}' FROM generate_series(1, {BACKLOG}) g; "
                "ANALYZE notify_messages")
    h.check_equal("the emails wait, due now",
                  h.scalar(url, "SELECT count(*) FROM notify_messages WHERE state = 'pending' "
                                "AND channel = 'email' AND next_attempt_at <= now()"),
                  str(BACKLOG))
    # Statistics reach the shared counters when a session ends: the server's sessions are
    # waited out before the counters are read again.
    read0, scans0 = reads(url)
    server = h.Server(url, env={"LOGEER_NOTIFY_POLL_MS": "100"})
    time.sleep(3.0)
    server.stop()
    sessions_ended(url)
    read1, scans1 = reads(url)
    read = {k: v - read0.get(k, 0) for k, v in read1.items() if v != read0.get(k, 0)}
    h.info(f"3 s of polling with {BACKLOG} emails waiting: {scans1 - scans0} index scans of "
           f"notify_messages, entries read {read}")
    h.check("the notifier asked its questions (index scans of notify_messages)",
            scans1 - scans0 >= 10, f"{scans1 - scans0} scans")
    # The queue-depth gauge counts the waiting emails once at start (and again only while
    # someone reads /metrics): one pass over them, whichever way PostgreSQL reads them.
    h.check("the questions read past none of the waiting emails (one pass, the gauge's count)",
            sum(read.values()) < BACKLOG + 100, f"{read}")
    h.check_equal("the emails still wait for a process that sends them",
                  h.scalar(url, "SELECT count(*) FROM notify_messages WHERE state = 'pending' "
                                "AND channel = 'email' AND attempts = 0"), str(BACKLOG))


if __name__ == "__main__":
    h.main(globals())
