"""Who is told what for an outbox event does not change when the producer returns early for the
events that tell nobody (migration 0052). The function as 0026 wrote it is installed beside the
current one, and both are given the same events, one at a time, inside a transaction that is
rolled back: every event type the producer knows, every status and former status that decides
an email, the last actor of a cancellation, and a provider with and without an endpoint for
every hook. The messages each writes (channel, recipient, kind, data, body) must be the same."""

import datetime as dt
import os
import re

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"

# type, status, from: the combinations the producer's branches look at, and some they do not.
EVENTS = [
    ("stay.created", "held", None), ("stay.created", "requested", None),
    ("stay.created", "confirmed", None), ("stay.created", "waitlisted", None),
    ("stay.requested", "requested", "held"), ("stay.confirmed", "confirmed", "held"),
    ("stay.confirmed", "confirmed", "requested"), ("stay.declined", "declined", "requested"),
    ("stay.offered", "held", "waitlisted"), ("stay.expired", "expired", "held"),
    ("stay.cancelled", "cancelled", "held"), ("stay.cancelled", "cancelled", "requested"),
    ("stay.cancelled", "cancelled", "confirmed"), ("stay.cancelled", "cancelled", "checked_in"),
    ("stay.cancelled", "cancelled", "waitlisted"), ("stay.checked_in", "checked_in", "confirmed"),
    ("stay.completed", "completed", "checked_in"), ("stay.no_show", "no_show", "confirmed"),
    ("capacity.updated", None, None),
]
ACTORS = ["caregiver", "provider", "coordinator", None]

COMPARE = r"""
CREATE FUNCTION pg_temp.compare_producers(p_stay uuid, p_events jsonb, p_actors jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s        stays%ROWTYPE;
    ev       jsonb;
    act      jsonb;
    hooked   boolean;
    e        events%ROWTYPE;
    before   text;
    after    text;
    told     integer := 0;
    tried    integer := 0;
    differ   text := '';
BEGIN
    SELECT * INTO s FROM stays WHERE id = p_stay;
    BEGIN
        FOREACH hooked IN ARRAY ARRAY[false, true] LOOP
            IF hooked THEN
                INSERT INTO webhook_endpoints (provider_id, url, event_types, secret_sealed,
                                               secret_key_id)
                VALUES (s.provider_id, 'https://hooks.example.org/all',
                        ARRAY['stay.requested', 'stay.confirmed', 'stay.declined',
                              'stay.cancelled', 'stay.checked_in', 'stay.completed',
                              'waitlist.offered', 'capacity.changed'], '\x00', 'test');
            END IF;
            FOR act IN SELECT * FROM jsonb_array_elements(p_actors) LOOP
                -- The producer reads who acted last from the stay's history.
                INSERT INTO stay_events (stay_id, actor_id, actor_role, from_status, to_status,
                                         reason)
                VALUES (s.id, CASE WHEN act ->> 0 IS NOT NULL THEN s.requested_by END,
                        (act ->> 0)::user_role, 'held', s.status, 'test');
                FOR ev IN SELECT * FROM jsonb_array_elements(p_events) LOOP
                    INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to,
                                        payload)
                    VALUES (ev ->> 0, s.provider_id, s.pool_id,
                            CASE WHEN ev ->> 0 LIKE 'stay.%' THEN s.id END,
                            s.check_in, s.check_out,
                            jsonb_strip_nulls(jsonb_build_object('status', ev ->> 1,
                                                                 'from', ev ->> 2)))
                    RETURNING * INTO e;
                    PERFORM logeer_notify_from_event_0026(e);
                    SELECT string_agg(concat_ws(' | ', m.channel, m.recipient, m.kind, m.data,
                                                m.body), E'\n' ORDER BY 1)
                      INTO before FROM notify_messages m WHERE m.event_id = e.id;
                    DELETE FROM notify_messages m WHERE m.event_id = e.id;
                    PERFORM logeer_notify_from_event(e);
                    SELECT string_agg(concat_ws(' | ', m.channel, m.recipient, m.kind, m.data,
                                                m.body), E'\n' ORDER BY 1)
                      INTO after FROM notify_messages m WHERE m.event_id = e.id;
                    tried := tried + 1;
                    told := told + (before IS NOT NULL)::integer;
                    IF before IS DISTINCT FROM after THEN
                        differ := differ || format(E'%s hooked=%s actor=%s: before [%s] after [%s]\n',
                                                   ev, hooked, act, before, after);
                    END IF;
                END LOOP;
            END LOOP;
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'roll back';
    EXCEPTION WHEN raise_exception THEN
        NULL;  -- nothing the comparison wrote stays
    END;
    RETURN format('tried=%s told=%s', tried, told) || E'\n' || differ;
END
$$;
"""


def function_as_0026():
    """logeer_notify_from_event as migration 0026 wrote it, under another name."""
    path = os.path.join(h.SOURCE_DIR, "migrations", "0026_webhook_operations.sql")
    text = open(path, encoding="utf-8").read()
    m = re.search(r"CREATE OR REPLACE FUNCTION logeer_notify_from_event\(e events\).*?\n\$\$;",
                  text, re.S)
    return m.group(0).replace("logeer_notify_from_event(e events)",
                              "logeer_notify_from_event_0026(e events)", 1)


def test_every_event_tells_the_same_people_as_before_0052():
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    try:
        esdorp = srv.login(ESDORP)
        today = h.today_local(url)
        night = today + dt.timedelta(days=20)
        pool = h.make_pool(srv, url, esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 2, night,
                           night + dt.timedelta(days=2), name="Producer decisions")
        caregiver = srv.login(h.add_caregivers(url, 1, prefix="notifydecide")[0], h.TEST_PASSWORD)
        resp = srv.request("POST", "/v1/stays",
                           h.stay_body(pool.id, night, night + dt.timedelta(days=1)),
                           token=caregiver)
        if not h.check("a stay to hang the events on (201)", resp.status == 201, repr(resp)):
            return
        stay = resp.json["id"]
    finally:
        srv.stop()
    h.psql(url, function_as_0026())
    events = str([list(e) for e in EVENTS]).replace("'", '"').replace("None", "null")
    actors = str([[a] for a in ACTORS]).replace("'", '"').replace("None", "null")
    out = h.psql(url, COMPARE + f"SELECT pg_temp.compare_producers('{stay}', "
                               f"'{events}'::jsonb, '{actors}'::jsonb);")
    lines = [cell for row in out for cell in row]
    summary, differ = lines[0], [line for line in lines[1:] if line.strip()]
    h.info(f"both producers given the same events: {summary}")
    tried = int(re.search(r"tried=(\d+)", summary).group(1))
    told = int(re.search(r"told=(\d+)", summary).group(1))
    h.check_equal("every combination was tried", tried, 2 * len(ACTORS) * len(EVENTS))
    h.check(f"many of them tell someone, so the comparison means something ({told})",
            told >= len(ACTORS) * 8, str(told))
    h.check("each writes the same messages as before 0052", not differ, "\n".join(differ[:10]))


h.main(globals())
