"""GET /v1/events: Server-Sent Events of stay transitions and capacity changes.

Proves: a booking reaches a connected coordinator within a second; a client that reconnects
with Last-Event-ID gets exactly the events it missed (compared with the outbox table), even an
event that committed late with a LOWER id than one already sent; provider staff see only their
own pools' events; events carry no personal data; other roles are refused; logging out ends an
open stream (after a heartbeat); beyond 200 streams the service answers 503."""

import datetime as dt
import json
import socket
import subprocess
import threading
import time

import harness as h

MAX_STREAMS = 200
# The only members an event may have: ids, type, time, status and nights; never a guest.
EVENT_KEYS = {"id", "type", "at", "provider_id", "pool_id", "stay_id", "status",
              "previous_status", "kind", "nights"}


class Stream:
    """One SSE connection read by a background thread: a raw socket, chunked decoding and the
    SSE framing, so that the test sees exactly what a browser would."""

    def __init__(self, port, token, last_event_id=None):
        self.events = []       # parsed data of messages with data, in arrival order
        self.ids = []          # the id: field of every message that had one
        self.comments = []
        self.raw = b""
        self.closed = False
        self.status = None
        self.cond = threading.Condition()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30 * h.SCALE)
        head = f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if last_event_id is not None:
            head += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.headers = self._read_head()
        if self.status == 200:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _read_head(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        head, _, self.rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else None
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if self.status != 200:
            self.body = self.rest
            self.sock.close()
            self.closed = True
        if self.status is not None:
            h.judge_answer("GET", "/v1/events", h.Response(
                self.status, list(headers.items()), b"" if self.status == 200 else self.body))
        return headers

    def _run(self):
        data = self.rest
        text = ""
        try:
            while True:
                # Chunked transfer coding: size line, data, CRLF.
                while b"\r\n" not in data:
                    more = self.sock.recv(65536)
                    if not more:
                        raise EOFError
                    data += more
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(data) < size + 2:
                    more = self.sock.recv(65536)
                    if not more:
                        raise EOFError
                    data += more
                payload, data = data[:size], data[size + 2:]
                if size == 0:
                    break
                with self.cond:
                    self.raw += payload
                text += payload.decode("utf-8")
                while "\n\n" in text:
                    block, text = text.split("\n\n", 1)
                    self._message(block)
        except (EOFError, OSError, ValueError):
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _message(self, block):
        data, mid = None, None
        for line in block.split("\n"):
            if line.startswith(":"):
                with self.cond:
                    self.comments.append(line)
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                mid = value
            elif field == "data":
                data = value if data is None else data + "\n" + value
        with self.cond:
            if mid is not None:
                self.ids.append(mid)
            if data is not None:
                self.events.append(json.loads(data))
            self.cond.notify_all()
        if data is not None:
            message = json.loads(data)
            if not str(message.get("type", "")).startswith("stream."):
                for problem in h.contract().judge_component("Event", message):
                    h.fail(f"each event message keeps docs/openapi.yaml: {problem}", data[:300])

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed and not predicate(self):
                    return predicate(self)
                self.cond.wait(left)
            return True

    def last_id(self):
        with self.cond:
            return self.ids[-1] if self.ids else None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class World:
    def __init__(self):
        self.url = h.migrated_database()
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        h.add_user(self.url, "beheer@sse.test", "admin")
        h.add_user(self.url, "aanjager@sse.test", "coordinator")
        h.add_user(self.url, "huisarts@sse.test", "referrer")
        # Caregivers may hold three open requests each; the tests take turns among several.
        self.caregivers = []
        for i in range(8):
            h.add_user(self.url, f"mz{i}@sse.test", "caregiver", municipality="GM0106")
        self.admin = self.srv.login("beheer@sse.test", h.TEST_PASSWORD)
        self.coord = self.srv.login("aanjager@sse.test", h.TEST_PASSWORD)
        self.referrer = self.srv.login("huisarts@sse.test", h.TEST_PASSWORD)
        self.caregivers = [self.srv.login(f"mz{i}@sse.test", h.TEST_PASSWORD) for i in range(8)]
        self.cg = self.caregivers[0]
        self.owner = {}   # stay id -> the token of the caregiver who asked
        self.opened = []  # every Stream, so that each test can close what it left open
        self.providers, self.staff, self.pools = {}, {}, {}
        for key, agb in (("p1", "98880001"), ("p2", "98880002")):
            resp = self.srv.request("POST", "/v1/providers", {"name": f"Aanbieder {key}",
                                                              "agb_code": agb}, token=self.admin)
            if not h.check(f"admin creates provider {key}", resp.status == 201, repr(resp)):
                raise RuntimeError("no provider")
            self.providers[key] = resp.json["id"]
            h.add_user(self.url, f"planner@{key}.sse.test", "provider",
                       provider=self.providers[key])
            self.staff[key] = self.srv.login(f"planner@{key}.sse.test", h.TEST_PASSWORD)
            self.pools[key] = h.make_pool(self.srv, self.url, self.staff[key],
                                          self.providers[key], 5, self.day(1), self.day(60),
                                          booking_mode="instant", name=f"SSE pool {key}")
        self.alias_seq = 0

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def book(self, key, first=3, nights=2):
        """A caregiver's hold in pool key; returns the stay id."""
        self.alias_seq += 1
        body = h.stay_body(self.pools[key].id, self.day(first), self.day(first + nights),
                           alias=f"mevr. Geheim{self.alias_seq}")
        token = self.caregivers[self.alias_seq % len(self.caregivers)]
        resp = self.srv.request("POST", "/v1/stays", body, token=token)
        if not h.check(f"caregiver books in pool {key}: 201 held",
                       resp.status == 201 and resp.json.get("status") == "held", repr(resp)):
            raise RuntimeError("booking failed")
        self.owner[resp.json["id"]] = token
        return resp.json["id"]

    def cancel(self, stay_id):
        resp = self.srv.request("POST", f"/v1/stays/{stay_id}/cancel", {"reason": "test"},
                                token=self.owner[stay_id])
        h.check("caregiver cancels the hold: 200", resp.status == 200, repr(resp))

    def capacity(self, key, beds):
        resp = h.put_capacity(self.srv, self.staff[key], self.pools[key].id,
                              [{"from": self.day(40), "to": self.day(42), "beds": beds}])
        h.check(f"provider {key} changes capacity: 200", resp.status == 200, repr(resp))

    def stream(self, token=None, last_event_id=None):
        s = Stream(self.srv.port, token or self.coord, last_event_id)
        self.opened.append(s)
        return s

    def close_streams(self):
        for s in self.opened:
            s.close()
        self.opened = []

    def outbox_rows_after(self, last):
        return h.psql(self.url, "SELECT id, type, stay_id, at, payload FROM events "
                                f"WHERE id > {int(last)} ORDER BY id")

    def outbox_ids_after(self, last):
        return [r[0] for r in self.outbox_rows_after(last)]


def world():
    return h.once("world", World)


def started(stream, timeout=5):
    """Waits until the stream announced its starting id (a fresh stream always does)."""
    return stream.wait(lambda s: s.ids, timeout * h.SCALE)


def test_a_booking_reaches_the_coordinator_within_a_second():
    e = world()
    s = e.stream()
    h.check_equal("GET /v1/events as coordinator: 200", s.status, 200)
    h.check("Content-Type: text/event-stream; Cache-Control: no-store",
            s.headers.get("content-type", "").startswith("text/event-stream")
            and s.headers.get("cache-control") == "no-store", s.headers)
    h.check("a fresh stream first says where it starts (an id: line)", started(s), s.raw[:200])
    h.check("and how long to wait before reconnecting (retry:)", b"retry: " in s.raw, s.raw[:100])
    t0 = time.monotonic()
    stay = e.book("p1")
    got = s.wait(lambda x: any(ev.get("stay_id") == stay for ev in x.events), 5 * h.SCALE)
    elapsed = time.monotonic() - t0
    h.info(f"the event arrived {elapsed * 1000:.0f} ms after the booking was sent")
    h.check("the booking's event arrives within a second", got and elapsed < 1.0 * h.SLACK,
            f"{elapsed:.2f} s")
    ev = next((x for x in s.events if x.get("stay_id") == stay), {})
    h.check_equal("the event says what happened, where and when",
                  {k: ev.get(k) for k in ("type", "status", "pool_id", "provider_id", "kind")},
                  {"type": "stay.created", "status": "held", "pool_id": e.pools["p1"].id,
                   "provider_id": e.providers["p1"], "kind": "planned"})
    h.check_equal("with its nights", ev.get("nights"),
                  {"from": str(e.day(3)), "to": str(e.day(5))})
    h.check("and nothing else: no guest data (only the whitelisted members)",
            set(ev) <= EVENT_KEYS | {"ranges"}, sorted(ev))
    h.check("the guest's alias never appears on the wire", b"Geheim" not in s.raw)
    db_id = h.scalar(e.url, f"SELECT id FROM events WHERE stay_id = '{stay}'")
    h.check_equal("the SSE id is the outbox row's id", ev.get("id"), db_id)
    h.check_equal("and the message's id: field says the same", s.last_id(), db_id)
    s.close()


def test_reconnecting_with_last_event_id_gets_exactly_the_missed_events():
    e = world()
    s = e.stream()
    started(s)
    first = e.book("p1")
    saw = s.wait(lambda x: any(ev.get("stay_id") == first for ev in x.events), 5 * h.SCALE)
    last = s.last_id()
    h.check("the first stream saw the booking and knows its id", saw and last is not None,
            f"events {s.events!r}, ids {s.ids!r}")
    s.close()
    time.sleep(0.2)
    # Missed while disconnected: a cancellation, a booking elsewhere, a capacity change.
    e.cancel(first)
    other = e.book("p2")
    e.capacity("p2", 4)
    missed = e.outbox_ids_after(last)
    h.check("the outbox holds three rows after the last id seen", len(missed) == 3,
            f"got {e.outbox_rows_after(last)!r}")
    r = e.stream(last_event_id=last)
    got = r.wait(lambda x: len(x.events) >= 3, 5 * h.SCALE)
    time.sleep(1.0)  # anything extra would arrive now
    h.check("the resumed stream delivers the missed events", got, r.events)
    h.check_equal("exactly the missed events, in order, none twice, none of before",
                  [ev["id"] for ev in r.events], missed)
    h.check_equal("they are the cancellation, the new booking and the capacity change",
                  [(ev["type"], ev.get("stay_id")) for ev in r.events],
                  [("stay.cancelled", first), ("stay.created", other),
                   ("capacity.updated", None)])
    cap = r.events[2] if len(r.events) == 3 else {}
    h.check_equal("a capacity event carries its ranges (counts, no people)", cap.get("ranges"),
                  [{"from": str(e.day(40)), "to": str(e.day(42)), "beds": 4}])
    h.check("a resumed stream does not announce a new starting id",
            r.ids == [ev["id"] for ev in r.events], r.ids)
    # After catching up it is live again.
    third = e.book("p1", first=10)
    h.check("after catching up, new events arrive live",
            r.wait(lambda x: any(ev.get("stay_id") == third for ev in x.events), 5 * h.SCALE))
    r.close()
    z = e.stream(last_event_id="0")
    total = int(h.scalar(e.url, "SELECT count(*) FROM events"))
    h.check("Last-Event-ID 0 replays the whole outbox",
            z.wait(lambda x: len(x.events) >= total, 5 * h.SCALE), f"{len(z.events)} of {total}")
    z.close()
    u = e.stream(last_event_id="999999999")
    h.check("an unknown Last-Event-ID starts from now with a stream.reset event",
            u.wait(lambda x: x.events, 5 * h.SCALE)
            and u.events[0].get("type") == "stream.reset", u.events)
    u.close()


def _psql_session(url):
    """An interactive psql fed line by line, to hold transactions open between steps."""
    return subprocess.Popen([h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def _run(session, sql):
    session.stdin.write(sql + "\n\\echo done\n")
    session.stdin.flush()
    out = []
    while True:
        line = session.stdout.readline()
        if not line or line.strip() == "done":
            return out
        out.append(line.strip())


def test_an_event_committed_late_with_a_lower_id_is_not_skipped():
    """The hole in "id > last AND txid < xmin": transaction A takes its xid first, B inserts
    an event (lower id) and stays open, A inserts one (higher id) and commits. A's row is
    visible and safe by the txid rule, so it is sent; then B commits its lower id. A reader
    that resumes by id alone would never send B's row."""
    e = world()
    s = e.stream()
    started(s)
    a, b = _psql_session(e.url), _psql_session(e.url)
    try:
        _run(a, "BEGIN; SELECT pg_current_xact_id();")
        _run(b, "BEGIN; INSERT INTO events (type) VALUES ('test.young') RETURNING id;")
        _run(a, "INSERT INTO events (type) VALUES ('test.old') RETURNING id; COMMIT;")
        got_old = s.wait(lambda x: any(ev["type"] == "test.old" for ev in x.events), 5 * h.SCALE)
        h.check("the older transaction's event (higher id) is sent while the younger is open",
                got_old, s.events[-3:])
        seen_old = s.last_id()
        s.close()
        time.sleep(0.2)
        _run(b, "COMMIT;")
        young = h.scalar(e.url, "SELECT id FROM events WHERE type = 'test.young'")
        old = h.scalar(e.url, "SELECT id FROM events WHERE type = 'test.old'")
        h.check("the younger transaction's event has the lower id", int(young) < int(old),
                f"young {young}, old {old}")
        r = e.stream(last_event_id=seen_old)
        h.check("resuming after the higher id still delivers the lower one that committed later",
                r.wait(lambda x: any(ev["type"] == "test.young" for ev in x.events), 5 * h.SCALE),
                r.events)
        h.check_equal("and only that one", [ev["id"] for ev in r.events], [young])
        r.close()
    finally:
        for p in (a, b):
            p.stdin.close()
            p.wait(timeout=30)


def test_a_transaction_open_in_another_database_holds_nothing_back():
    """Transaction ids belong to the whole cluster, so "older than every running transaction"
    once waited for transactions of other databases too, which can never write this outbox: a
    write transaction left open next door held back every live event (migration 0047). One
    open in this database still holds them back, as the test above needs."""
    e = world()
    s = e.stream()
    started(s)
    other = _psql_session(h.pg_url(h.PGDIR, "postgres"))
    try:
        xid = _run(other, "BEGIN; SELECT pg_current_xact_id();")
        h.check("another database of the cluster has a write transaction open", xid, xid)
        t0 = time.monotonic()
        stay = e.book("p1", first=12)
        got = s.wait(lambda x: any(ev.get("stay_id") == stay for ev in x.events), 5 * h.SCALE)
        elapsed = time.monotonic() - t0
        h.info(f"the event arrived {elapsed * 1000:.0f} ms after the booking was sent")
        h.check("a booking's event still arrives within a second",
                got and elapsed < 1.0 * h.SLACK, f"{elapsed:.2f} s")
    finally:
        _run(other, "ROLLBACK;")
        other.stdin.close()
        other.wait()
    s.close()


def test_a_reader_looks_again_while_committed_rows_lie_after_its_position():
    """After a short read the feed and the notifier ask whether rows wait after their position.
    A row held back at the read can be readable by the time of that question (the older
    transaction ended in between); the answer must still be yes, or the row waits for a NOTIFY
    nobody sends, until the 30-s safety poll (migration 0053). Asked in SQL, with a position
    just before a committed, readable row, and at the newest row."""
    e = world()
    row = h.psql(e.url, "INSERT INTO events (type) VALUES ('test.after') RETURNING txid, id")[0]
    txid, rid = row[0], int(row[1])
    # Any transaction that may be this database's holds the row back until it ends (logeerd's
    # own, or one of a test running beside this one that ended between the horizon's two reads,
    # 0047). Wait for that, as a reader would; the question below is asked once it is readable.
    def readable():
        return h.scalar(e.url, f"SELECT count(*) FROM logeer_events_after('{txid}'::xid8, "
                               f"{rid - 1}, NULL, NULL, NULL, 10) WHERE id = {rid}") == "1"
    h.check("the row is readable now (below the horizon)", h.wait_until(readable, 10 * h.SCALE))
    h.check_equal("a reader positioned before it is told to look again",
                  h.scalar(e.url, f"SELECT logeer_events_held_back('{txid}'::xid8, {rid - 1})"),
                  "t")
    newest = h.psql(e.url, "SELECT txid, id FROM events ORDER BY txid DESC, id DESC LIMIT 1")[0]
    h.check_equal("a reader at the newest row is not",
                  h.scalar(e.url, f"SELECT logeer_events_held_back('{newest[0]}'::xid8, "
                                  f"{newest[1]})"), "f")


def test_the_question_reads_the_index_not_the_outbox():
    """A reader that has caught up asks at the newest row, several times a second. Planned
    without knowing the position, an EXISTS over "rows after it" became a sequential scan that
    found nothing and so read the whole outbox (migration 0053; 0054 reads the newest row
    backwards on the index). Counted with the transaction's own table statistics."""
    e = world()
    h.psql(e.url, "INSERT INTO events (type) SELECT 'test.bulk' FROM generate_series(1, 3000)")
    h.psql(e.url, "ANALYZE events")
    newest = h.psql(e.url, "SELECT txid, id FROM events ORDER BY txid DESC, id DESC LIMIT 1")[0]
    scans = h.psql(e.url, f"SELECT logeer_events_held_back('{newest[0]}'::xid8, {newest[1]}), "
                          f"logeer_events_held_back('{newest[0]}'::xid8, {int(newest[1]) - 1}); "
                          "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                          "WHERE relname = 'events'")[-1]
    h.check_equal("asked at the newest row and just before it, the outbox is not scanned",
                  scans[0], "0")
    h.check("and the index is read instead", int(scans[1]) >= 2, f"idx_scan {scans[1]}")


def test_provider_staff_see_only_their_own_pools():
    e = world()
    s1 = e.stream(e.staff["p1"])
    s2 = e.stream(e.staff["p2"])
    h.check("provider staff may open the stream", s1.status == 200 and s2.status == 200)
    started(s1)
    started(s2)
    mine = e.book("p1", first=20)
    theirs = e.book("p2", first=20)
    e.capacity("p2", 3)
    h.check("p1 staff see the booking in their pool",
            s1.wait(lambda x: any(ev.get("stay_id") == mine for ev in x.events), 5 * h.SCALE))
    h.check("p2 staff see the booking and the capacity change in theirs",
            s2.wait(lambda x: any(ev["type"] == "capacity.updated" for ev in x.events),
                    5 * h.SCALE) and any(ev.get("stay_id") == theirs for ev in s2.events))
    time.sleep(0.5)
    h.check_equal("p1 staff saw only p1 events",
                  {ev.get("provider_id") for ev in s1.events}, {e.providers["p1"]})
    h.check_equal("p2 staff saw only p2 events",
                  {ev.get("provider_id") for ev in s2.events}, {e.providers["p2"]})
    s1.close()
    s2.close()
    replay = e.stream(e.staff["p1"], last_event_id="0")
    own = int(h.scalar(e.url, f"SELECT count(*) FROM events WHERE provider_id = "
                              f"'{e.providers['p1']}'"))
    replay.wait(lambda x: len(x.events) >= own, 5 * h.SCALE)
    time.sleep(0.5)
    h.check("a provider replaying the whole outbox gets exactly its own rows",
            len(replay.events) == own and
            {ev.get("provider_id") for ev in replay.events} == {e.providers["p1"]},
            f"{len(replay.events)} events, {own} expected")
    replay.close()


def test_other_roles_are_refused():
    e = world()
    for name, token in (("caregiver", e.cg), ("referrer", e.referrer), ("admin", e.admin)):
        s = Stream(e.srv.port, token)
        h.check_equal(f"{name}: 403", s.status, 403)
    s = Stream(e.srv.port, None)
    h.check_equal("no token: 401", s.status, 401)
    s = Stream(e.srv.port, "not-a-real-token")
    h.check_equal("a bad token: 401", s.status, 401)


def test_logging_out_ends_the_stream_after_a_heartbeat():
    e = world()
    token = e.srv.login("aanjager@sse.test", h.TEST_PASSWORD)
    s = e.stream(token)
    started(s)
    resp = e.srv.request("DELETE", "/v1/sessions/current", token=token)
    h.check("logging out: 204", resp.status == 204, repr(resp))
    ended = s.wait(lambda x: x.closed, 25 * h.SLACK)
    h.check("the stream of the ended session closes within one heartbeat (15 s)", ended)
    h.check("a heartbeat comment came before", any("heartbeat" in c for c in s.comments),
            s.comments)
    h.check("the last message says why", s.events and s.events[-1] ==
            {"type": "stream.end", "reason": "session_ended"}, s.events[-1:])
    again = e.stream(token)
    h.check_equal("reconnecting with the ended session: 401", again.status, 401)


def test_more_than_200_streams_answer_503():
    e = world()
    e.close_streams()
    time.sleep(0.5)  # the server hears each close from its loop
    streams = []
    try:
        for i in range(MAX_STREAMS):
            s = e.stream()
            streams.append(s)
            if s.status != 200:
                break
        h.check(f"{MAX_STREAMS} streams are accepted",
                len(streams) == MAX_STREAMS and all(s.status == 200 for s in streams),
                f"{len(streams)} opened, last status {streams[-1].status}")
        extra = e.stream()
        h.check_equal("the next one: 503", extra.status, 503)
        h.check("with Retry-After and a problem body", "retry-after" in extra.headers
                and b"application/problem+json" in extra.headers.get("content-type", "").encode(),
                extra.headers)
    finally:
        for s in streams:
            s.close()
    again = None
    for _ in range(50):
        time.sleep(0.1)
        again = e.stream()
        if again.status == 200:
            break
    h.check("after they close, a new stream is accepted again", again and again.status == 200,
            again and again.status)
    # Shutting down with a stream open: the stream ends at once and the process exits 0
    # without leaks (the harness checks both, and the sanitizer report under ASan).
    t0 = time.monotonic()
    e.srv.stop()
    h.check("SIGTERM with a stream open: the stream is ended and the server exits promptly",
            again is not None and again.wait(lambda x: x.closed, 5 * h.SLACK)
            and time.monotonic() - t0 < 5 * h.SLACK)


h.main(globals())
