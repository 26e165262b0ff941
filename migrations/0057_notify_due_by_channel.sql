-- 0057: the notifier's two questions read only the channels the process sends. Runs inside the
-- migrator's transaction: no BEGIN/COMMIT.
--
-- "When is the next message due" asked for pending messages of the process's channels (email
-- and webhooks, or webhooks alone when neither SMTP nor a mail directory is configured) on
-- notify_messages_due_idx, which is ordered by time alone. Its plan is generic (a prepared
-- statement), so the channels were a filter on the rows the index gave: a process that sends
-- no email read past every pending email, in the bench 7,927 rows, 872 buffers and 4.5 ms a
-- question, several questions a second, more with every email that waits. The claim ("which
-- are due") had the same filter; its plan read the channel's unsent messages, due or not, and
-- sorted them. The same happens to any channel whose backlog waits for another process.
--
-- With the channel first in the index each question becomes one index range per channel
-- (notify.c asks per channel and merges): a few buffers, whatever waits elsewhere. The
-- claim's order (due time, then id) is the index's order within a channel.

CREATE INDEX notify_messages_due_by_channel_idx ON notify_messages (channel, next_attempt_at, id)
    WHERE state = 'pending';
DROP INDEX notify_messages_due_idx;
