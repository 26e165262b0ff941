"""Webhook and worker operations (issue 14), against real receivers: a rotated secret signs
beside the old one for the grace period, checked with the standardwebhooks package; an endpoint
that only fails for LOGEER_WEBHOOK_DISABLE_AFTER_S is disabled, its owner gets an email over
SMTP (aiosmtpd), what happens meanwhile is kept and sent after re-enabling; a receiver down for
longer than several retries gets everything when it returns, with the same webhook-ids; the
admin (only) lists message states without their contents; and a server with webhook endpoints
but no LOGEER_WEBHOOK_KEY refuses to run."""

import json
import subprocess
import time

import harness as h
import test_notifications as tn

HOOK_ENV = {**tn.FAST, "LOGEER_WEBHOOK_ALLOW_PRIVATE": "1"}
ESDORP = tn.ESDORP
WAIT_S = tn.WAIT_S


def hook_rows(url, endpoint_id):
    return h.psql(url, "SELECT id, state, attempts, next_attempt_at = 'infinity' "
                       "FROM notify_messages WHERE channel = 'webhook' "
                       f"AND recipient = '{endpoint_id}' ORDER BY created_at, id")


def setup(srv, url, receiver, types=("capacity.changed",)):
    """A pool, then an endpoint: registered once the producer has passed the pool's own
    capacity event, so the endpoint gets only what the test makes."""
    esdorp = srv.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    pool = h.make_pool(srv, url, esdorp, provider, 2, tn.day(url, 10), tn.day(url, 30))
    h.wait_until(lambda: h.scalar(url, "SELECT c.event_id >= (SELECT max(id) FROM events) "
                                       "FROM notify_cursor c") == "t", WAIT_S)
    resp = tn.register(srv, esdorp, receiver.url, list(types))
    if resp.status != 201:
        raise RuntimeError("registering the endpoint failed: " + repr(resp))
    return esdorp, resp.json, pool


def test_rotated_secret_signs_beside_the_old_one_for_the_grace_period():
    url = h.migrated_database(seed=True)
    receiver = tn.WebhookReceiver()
    try:
        srv = h.Server(url, env={**HOOK_ENV, "LOGEER_WEBHOOK_ROTATION_GRACE_S": "4"})
        esdorp, endpoint, pool = setup(srv, url, receiver)
        old = endpoint["secret"]
        path = f"/v1/webhook-endpoints/{endpoint['id']}"
        stale = srv.request("POST", path + "/rotate-secret", token=esdorp,
                            headers={"If-Match": '"99"'})
        h.check_problem("a rotation with a stale If-Match is refused (412)", stale, 412)
        resp = srv.request("POST", path + "/rotate-secret", token=esdorp,
                           headers={"If-Match": f'"{endpoint["version"]}"'})
        body = resp.json or {}
        new = body.get("secret", "")
        h.check("the rotation answers 200 with a new whsec_ secret, shown once",
                resp.status == 200 and new.startswith("whsec_") and new != old, repr(resp))
        h.check("the answer says until when the previous secret still signs",
                bool(body.get("previous_secret_expires_at")) and bool(body.get("secret_rotated_at")),
                repr(body))
        h.check("the secret is not shown again",
                "secret" not in (srv.get(path, token=esdorp).json or {}))
        retry = srv.request("POST", path + "/rotate-secret", token=esdorp,
                            headers={"If-Match": f'"{endpoint["version"]}"'})
        h.check_problem("a retried rotation with the same If-Match does not rotate twice (412)",
                        retry, 412)
        other = srv.login("planner@hunzehof.demo.logeer.nl")
        h.check_equal("another provider cannot rotate it (404)",
                      srv.request("POST", path + "/rotate-secret", token=other).status, 404)

        tn.capacity_events(srv, esdorp, pool.id, url, 2)
        h.check("two webhooks arrive in the grace period",
                h.wait_until(lambda: len(receiver.snapshot()[0]) >= 2, WAIT_S))
        got, _ = receiver.snapshot()
        sigs = [hd["webhook-signature"].split(" ") for _, hd, _ in got]
        h.check("each carries two space-separated v1 signatures",
                all(len(s) == 2 and all(x.startswith("v1,") for x in s) for s in sigs),
                repr(sigs[:1]))
        verified_old, failed_old = tn.verify_signatures(old, got)
        verified_new, failed_new = tn.verify_signatures(new, got)
        h.check("standardwebhooks verifies them with the OLD secret (receivers not yet switched)",
                verified_old == len(got), repr(failed_old))
        h.check("... and with the NEW secret (receivers already switched)",
                verified_new == len(got), repr(failed_new))

        time.sleep(4.5)
        before = len(got)
        tn.capacity_events(srv, esdorp, pool.id, url, 1)
        h.check("a webhook after the grace period arrives",
                h.wait_until(lambda: len(receiver.snapshot()[0]) > before, WAIT_S))
        late = receiver.snapshot()[0][before:]
        h.check("after the grace period only one signature is sent",
                all(len(hd["webhook-signature"].split(" ")) == 1 for _, hd, _ in late))
        h.check("... which the new secret verifies",
                tn.verify_signatures(new, late)[0] == len(late))
        h.check("... and the old secret no longer does",
                tn.verify_signatures(old, late)[0] == 0)
    finally:
        receiver.close()


def test_failing_endpoint_is_disabled_owner_told_and_nothing_lost_after_reenabling():
    url = h.migrated_database(seed=True)
    receiver = tn.WebhookReceiver(fail_first=10 ** 6)  # down until told otherwise
    sink = tn.SmtpSink()
    try:
        srv = h.Server(url, env={**HOOK_ENV, "LOGEER_SMTP_URL": sink.url,
                                 "LOGEER_WEBHOOK_DISABLE_AFTER_S": "3"})
        esdorp, endpoint, pool = setup(srv, url, receiver)
        path = f"/v1/webhook-endpoints/{endpoint['id']}"
        tn.capacity_events(srv, esdorp, pool.id, url, 1)

        def disabled():
            return (srv.get(path, token=esdorp).json or {}).get("enabled") is False
        h.check("an endpoint that only fails for longer than the limit is disabled",
                h.wait_until(disabled, 30 * h.SLACK))
        ep = srv.get(path, token=esdorp).json or {}
        h.check_equal("... with the reason 'failing'", ep.get("disabled_reason"), "failing")
        h.check("... and when its failures began", bool(ep.get("failing_since")), repr(ep))
        mails = tn.wait_messages(sink, lambda m: any(
            r["msg"]["Subject"] == "Uw webhook is uitgezet" for r in m))
        told = [r for r in mails if r["msg"]["Subject"] == "Uw webhook is uitgezet"]
        h.check_equal("the staff member who registered it is told by email, once",
                      [r["rcpt_tos"] for r in told], [[ESDORP]])
        if told:
            plain = tn.text_part(told[0]["msg"], "plain")
            h.check("the email names the endpoint's address and how to go on, in Dutch",
                    receiver.url in plain and "Zet de webhook weer aan" in plain, plain)

        attempts_before = len(receiver.snapshot()[0])
        tn.capacity_events(srv, esdorp, pool.id, url, 3)
        h.check("what happens while it is disabled is kept as parked messages",
                h.wait_until(lambda: sum(1 for r in hook_rows(url, endpoint["id"])
                                         if r[1] == "pending" and r[3] == "t") >= 3, WAIT_S))
        time.sleep(2)
        h.check_equal("... and not sent meanwhile", len(receiver.snapshot()[0]),
                      attempts_before)

        receiver.fail_first = 0  # the receiver works again
        resp = srv.request("PATCH", path, {"enabled": True}, token=esdorp)
        h.check("the owner re-enables it through the API", resp.status == 200
                and resp.json.get("enabled") is True and resp.json.get("disabled_reason") is None,
                repr(resp))

        def delivered():
            rows = hook_rows(url, endpoint["id"])
            return rows and sum(1 for r in rows if r[1] == "sent") >= 3
        h.check("the kept messages are delivered after re-enabling",
                h.wait_until(delivered, WAIT_S))
        got, _ = receiver.snapshot()
        ok = tn.verify_signatures(endpoint["secret"], got[attempts_before:])
        h.check("... with valid signatures", ok[0] == len(got) - attempts_before, repr(ok[1]))
    finally:
        receiver.close()
        sink.close()


def test_receiver_down_for_a_while_gets_everything_in_retry_order_with_the_same_ids():
    url = h.migrated_database(seed=True)
    receiver = tn.WebhookReceiver(fail_first=10 ** 6)
    try:
        # One sending thread: attempts go out one after another in the order they are due,
        # so the receiver's order is the retry order and nothing races it.
        srv = h.Server(url, env={**HOOK_ENV, "LOGEER_NOTIFY_RETRY_MAX_S": "2",
                                 "LOGEER_NOTIFY_WORKERS": "1"})
        esdorp, endpoint, pool = setup(srv, url, receiver)
        tn.capacity_events(srv, esdorp, pool.id, url, 4)

        def retried_enough():
            rows = hook_rows(url, endpoint["id"])
            return len(rows) == 4 and all(int(r[2]) >= 4 for r in rows)
        h.check("while the receiver is down every message is tried four times or more",
                h.wait_until(retried_enough, 40 * h.SLACK))
        down_ids = {hd["webhook-id"] for _, hd, _ in receiver.snapshot()[0]}
        receiver.fail_first = 0

        def all_sent():
            rows = hook_rows(url, endpoint["id"])
            return len(rows) == 4 and all(r[1] == "sent" for r in rows)
        h.check("when it returns it gets everything", h.wait_until(all_sent, WAIT_S))
        got, counts = receiver.snapshot()
        first_ok = {}
        for i, (_, hd, _) in enumerate(got):
            first_ok.setdefault(hd["webhook-id"], i)
        h.check_equal("with the same webhook-ids it saw failing", set(first_ok), down_ids)
        # The order of arrival after the return follows the retry schedule: the delivery log's
        # sent_at order is the order the receiver saw the successes in.
        sent_order = [r[0] for r in h.psql(url, "SELECT id FROM notify_messages WHERE channel = "
                                                f"'webhook' AND recipient = '{endpoint['id']}' "
                                                "ORDER BY sent_at, id")]
        last_seen = {}
        for i, (_, hd, _) in enumerate(got):
            last_seen[hd["webhook-id"]] = i
        h.check_equal("in the order of their retries",
                      sorted(last_seen, key=last_seen.get), sent_order)
        h.check("standardwebhooks verifies every attempt",
                tn.verify_signatures(endpoint["secret"], got)[0] == len(got))
        h.check(f"nothing was lost: 4 webhook-ids in {len(got)} attempts", len(counts) == 4)
    finally:
        receiver.close()


def test_admin_lists_message_states_without_contents():
    url = h.migrated_database(seed=True)
    receiver = tn.WebhookReceiver(fail_first=1)
    try:
        srv = h.Server(url, env=HOOK_ENV)
        esdorp, endpoint, pool = setup(srv, url, receiver)
        tn.capacity_events(srv, esdorp, pool.id, url, 2)
        h.wait_until(lambda: h.scalar(url, "SELECT count(*) FROM notify_messages WHERE "
                                           "state = 'sent'") == "2", WAIT_S)
        admin = srv.login("beheer@demo.logeer.nl")
        resp = srv.get("/v1/notify-messages?channel=webhook&state=sent&limit=1", token=admin)
        body = resp.json or {}
        rows = body.get("messages", [])
        h.check("the admin lists sent webhook messages, paged",
                resp.status == 200 and body.get("total") == 2 and len(rows) == 1, repr(resp))
        if rows:
            row = rows[0]
            h.check("a row has state, attempts, last status and error, recipient",
                    row["state"] == "sent" and row["attempts"] == 2 and row["last_status"] == 204
                    and row["recipient"] == endpoint["id"] and row["channel"] == "webhook",
                    repr(row))
            h.check("no message data or body is shown",
                    "data" not in row and "body" not in row, repr(row))
        h.check_equal("filtering on pending finds none",
                      (srv.get("/v1/notify-messages?state=pending", token=admin).json or {})
                      .get("total"), 0)
        h.check_problem("an unknown state is refused (422)",
                        srv.get("/v1/notify-messages?state=lost", token=admin), 422)
        h.check_problem("provider staff may not list messages (403)",
                        srv.get("/v1/notify-messages", token=esdorp), 403)
        coordinator = srv.login("aanjager@demo.logeer.nl")
        h.check_problem("... nor the coordinator (403)",
                        srv.get("/v1/notify-messages", token=coordinator), 403)
    finally:
        receiver.close()


def test_webhooks_without_a_server_key_are_refused_and_the_server_will_not_run():
    url = h.migrated_database(seed=True)
    srv = h.Server(url, env={**HOOK_ENV, "LOGEER_WEBHOOK_KEY": ""})
    esdorp = srv.login(ESDORP)
    resp = tn.register(srv, esdorp, "https://hooks.example.org/x", ["stay.confirmed"])
    h.check_problem("without LOGEER_WEBHOOK_KEY no endpoint is registered (503)", resp, 503)
    srv.stop()

    keyed = h.Server(url, env=HOOK_ENV)
    token = keyed.login(ESDORP)
    h.check_equal("with a key it is (201)",
                  tn.register(keyed, token, "https://hooks.example.org/x",
                              ["stay.confirmed"]).status, 201)
    keyed.stop()

    proc = subprocess.Popen([h.LOGEERD, "serve", "--listen", f"127.0.0.1:{h.free_port()}",
                             "--database-url", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=h._command_env({"LOGEER_WEBHOOK_KEY": ""}))
    try:
        out, err = proc.communicate(timeout=30 * h.SLACK)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    h.check_equal("a server without a key, with endpoints in the database, exits 1",
                  proc.returncode, 1)
    h.check("... saying why in one clear log line",
            "LOGEER_WEBHOOK_KEY is not set" in out + err and "refusing to run" in out + err,
            (out + err)[-600:])


if __name__ == "__main__":
    h.main(globals())
