"""The restore drill of docs/operations.md, on small data: deploy/backup.sh turns on WAL archiving
for a private cluster, takes a base backup, and restores to a point in time T into a fresh
cluster. Bookings are made through the API on both sides of T; the restored cluster has every
booking acknowledged before T in the state it had at T, none made after T, no night over
capacity and no counter that differs from a recount, and a logeerd started against it is ready
and serves those bookings. verify rejects a damaged backup, and prune keeps the newest backup and
only the WAL it needs, which still restores. This test stops and starts PostgreSQL, so it runs
its own clusters and never the shared fixture."""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

import harness as h

BACKUP_SH = os.path.join(h.SOURCE_DIR, "deploy", "backup.sh")
PG_SH = h.PG_SH
CAREGIVERS = 6
BEDS = 3                   # few beds, so some nights fill up and the capacity check has teeth
ESDORP = "planner@esdorp.demo.logeer.nl"
PAUSE_S = 0.3              # keeps T clearly apart from the commits on either side of it


def run(*args, timeout=300):
    """Runs a deploy script; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout * h.SLACK)
    return proc.returncode, proc.stdout, proc.stderr


def backup_sh(*args):
    return run(BACKUP_SH, *args)


def must(name, result):
    """A step everything after depends on: a failed check, and the test stops."""
    rc, out, err = result
    if not h.check(name, rc == 0, f"exit {rc}; stdout {out[-600:]!r}; stderr {err[-1500:]!r}"):
        raise RuntimeError(name)
    return out


class Booking:
    def __init__(self, caregiver, stay_id, status, acked_at):
        self.caregiver = caregiver   # index into the tokens
        self.id = stay_id
        self.status = status         # the last acknowledged status
        self.acked_at = acked_at     # wall clock when the answer came


class Drill:
    """The primary, its archive and backups, the bookings made and what was refused."""

    def __init__(self, base):
        self.base = base
        self.primary = h.Cluster(os.path.join(base, "primary"))
        self.archive = os.path.join(base, "archive")
        self.backups = os.path.join(base, "backups")
        self.restored_dirs = []

    def book(self, server, token_index, check_in, nights):
        body = h.stay_body(self.pool, check_in, check_in + h._dt.timedelta(days=nights),
                           alias=f"drill {token_index}")
        resp = server.request("POST", "/v1/stays", body, token=self.tokens[token_index],
                              headers={"Idempotency-Key": f"drill-{uuid.uuid4().hex}"})
        if resp.status == 201 and isinstance(resp.json, dict):
            return Booking(token_index, resp.json["id"], resp.json["status"], time.time())
        h.check("a refused booking is 409 no-beds", resp.status == 409
                and h.problem_type(resp) == "no-beds", repr(resp))
        return None

    def confirm(self, server, booking):
        resp = server.request("POST", f"/v1/stays/{booking.id}/confirm",
                              token=self.tokens[booking.caregiver])
        if h.check(f"confirming stay {booking.id} gives 200", resp.status == 200, repr(resp)):
            booking.status = resp.json["status"]
            booking.acked_at = time.time()


def segment_of(path):
    """The segment part of an archived WAL file name, without the timeline."""
    return os.path.basename(path)[8:24]


def archived_segments(archive):
    return sorted(f for f in os.listdir(archive)
                  if len(f) == 27 and f.endswith(".gz") and f[:24].isalnum())


def start_segment(backup):
    with open(os.path.join(backup, "backup_label")) as f:
        for line in f:
            if line.startswith("START WAL LOCATION:"):
                return line.rsplit("file ", 1)[1].rstrip(")\n")
    return None


def damage_one_file(backup):
    """Flips one byte in the middle of a relation file, as a bad disk would."""
    for root, _dirs, files in os.walk(os.path.join(backup, "base")):
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.getsize(path) >= 16384:
                with open(path, "r+b") as f:
                    f.seek(8192)
                    byte = f.read(1)
                    f.seek(8192)
                    f.write(bytes([byte[0] ^ 0xFF]))
                return path
    return None


def recount_mismatches(url):
    """Nights, over every pool, whose held/booked counters differ from what the stays imply
    (held and requested stays hold a bed; confirmed, checked-in and completed ones have one)."""
    return int(h.scalar(url,
        "SELECT count(*) FROM (SELECT n.held, n.booked, "
        "count(s.id) FILTER (WHERE s.status IN ('held', 'requested')) AS ih, "
        "count(s.id) FILTER (WHERE s.status IN ('confirmed', 'checked_in', 'completed')) AS ib "
        "FROM pool_nights n LEFT JOIN stays s ON s.pool_id = n.pool_id "
        "AND s.check_in <= n.night AND n.night < s.check_out "
        "GROUP BY n.pool_id, n.night, n.held, n.booked) x WHERE held <> ih OR booked <> ib"))


def restore(drill, backup, target, port):
    directory = os.path.join(drill.base, f"restored-{port}")
    drill.restored_dirs.append(directory)
    started = time.monotonic()
    result = backup_sh("restore", backup, drill.archive, target, directory, str(port))
    return directory, time.monotonic() - started, result


def setup_primary(drill):
    drill.primary.start()
    out = must("backup.sh setup turns on archiving for a pg.sh cluster",
               backup_sh("setup", drill.primary.dir, drill.archive))
    h.check("... and says archive_mode needs a restart", "restart" in out, out)
    drill.primary.stop()
    drill.primary.start()
    admin = drill.primary.url("postgres")
    h.check_equal("archive_mode is on after the restart", h.scalar(admin, "SHOW archive_mode"),
                  "on")
    h.check("archive_command writes into the drill's archive",
            drill.archive in h.scalar(admin, "SHOW archive_command"))
    h.check_equal("archive_timeout bounds how far the archive lags (60 s)",
                  h.scalar(admin, "SHOW archive_timeout"), "1min")
    url = drill.primary.create_database("logeer")
    must("logeerd migrate on the primary", (lambda p: (p.returncode, p.stdout, p.stderr))(
        h.migrate(url, h.MIGRATIONS_DIR)))
    must("logeerd seed-demo on the primary", (lambda p: (p.returncode, p.stdout, p.stderr))(
        h.seed_demo(url)))
    return url


def test_restore_to_a_point_in_time_keeps_every_booking_acknowledged_before_it():
    base = tempfile.mkdtemp(prefix="logeer-drill-", dir="/tmp")
    # The postgres user (the script runs PostgreSQL as it when we are root) must traverse it.
    os.chmod(base, 0o711)
    drill = Drill(base)
    try:
        drill_steps(drill)
    finally:
        for directory in [*drill.restored_dirs, drill.primary.dir]:
            subprocess.run([PG_SH, "stop-immediate", directory], capture_output=True,
                           timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def drill_steps(drill):
    url = setup_primary(drill)
    today = h.today_local(url)
    emails = h.add_caregivers(url, CAREGIVERS, prefix="drill")
    server = h.Server(url)
    planner = server.login(ESDORP)
    drill.pool = h.make_pool(server, url, planner, h.DEMO_PROVIDER_IDS[ESDORP], BEDS, today,
                             today + h._dt.timedelta(days=30), name="Hersteloefening").id
    drill.tokens = h.login_many(server, emails)

    out = must("backup.sh base takes a base backup of the running primary",
               backup_sh("base", drill.primary.dir, drill.backups))
    first_backup = out.strip().splitlines()[-1]
    h.info(out.strip().splitlines()[0])
    must("backup.sh verify accepts the fresh backup", backup_sh("verify", first_backup))

    # Before T: one stay per caregiver on overlapping nights (some are refused: 3 beds), and
    # every other one confirmed.
    before = []
    for i in range(CAREGIVERS):
        b = drill.book(server, i, today + h._dt.timedelta(days=2 + i % 3), 2)
        if b:
            before.append(b)
    for b in before[::2]:
        drill.confirm(server, b)
    h.check("bookings were acknowledged before T", len(before) >= BEDS, len(before))

    time.sleep(PAUSE_S)
    target = h.scalar(url, "SELECT now()")
    time.sleep(PAUSE_S)

    # After T: new stays, and a stay from before T confirmed; at T it was still held.
    after = []
    for i in range(CAREGIVERS):
        b = drill.book(server, i, today + h._dt.timedelta(days=10 + i % 3), 2)
        if b:
            after.append(b)
    late = [b for b in before if b.status == "held"][:1]
    status_at_t = {b.id: b.status for b in before}
    for b in late:
        drill.confirm(server, b)
    h.check("bookings were acknowledged after T", len(after) >= BEDS, len(after))
    h.info(f"T = {target}: {len(before)} bookings acknowledged before T "
           f"({sum(1 for b in before if status_at_t[b.id] == 'confirmed')} confirmed), "
           f"{len(after)} after, and {len(late)} confirmed after T")

    # The archive must hold the WAL past T before a restore can reach T; closing the segment
    # does what archive_timeout would do within a minute.
    segment = h.scalar(url, "SELECT pg_walfile_name(pg_switch_wal())")
    archived = h.wait_until(lambda: os.path.exists(os.path.join(drill.archive, segment + ".gz")),
                            30 * h.SLACK, interval=0.2)
    h.check(f"the segment holding T ({segment}) reaches the archive", archived)

    directory, took, result = restore(drill, first_backup, target, 5433)
    must(f"backup.sh restore to T finishes ({took:.1f} s)", result)
    h.info(f"restore to T into a fresh cluster took {took:.1f} s")
    restored = h.pg_url(directory, "logeer")
    check_restored(drill, restored, before, after, status_at_t)

    # logeerd runs on the restored copy as on the original.
    copy = h.Server(restored)
    ready = copy.get("/readyz")
    h.check_equal("logeerd against the restored cluster answers /readyz 200", ready.status, 200)
    seen = copy.get(f"/v1/stays/{before[0].id}", token=drill.tokens[before[0].caregiver])
    h.check("... and serves a stay booked before T with its status at T",
            seen.status == 200 and seen.json.get("status") == status_at_t[before[0].id],
            repr(seen))
    gone = copy.get(f"/v1/stays/{after[0].id}", token=drill.tokens[after[0].caregiver])
    h.check_equal("... and knows nothing of a stay booked after T", gone.status, 404)
    copy.stop(label="logeerd on the restored cluster")

    check_verify_and_prune(drill, url, first_backup)
    server.stop(label="logeerd on the primary")


def check_restored(drill, restored, before, after, status_at_t):
    h.check_equal("the restored cluster is out of recovery and writable",
                  h.scalar(restored, "SELECT pg_is_in_recovery()"), "f")
    h.check_equal("the restored cluster does not archive into the primary's archive",
                  h.scalar(restored, "SHOW archive_mode"), "off")
    h.check_equal("... and waits for no synchronous standby",
                  h.scalar(restored, "SHOW synchronous_standby_names") or "", "")
    ids = ",".join(h._sql_text(b.id) for b in before + after)
    rows = h.psql(restored, f"SELECT id, status FROM stays WHERE id IN ({ids})")
    found = {r[0]: r[1] for r in rows}
    missing = [b.id for b in before if b.id not in found]
    h.check(f"every booking acknowledged before T is restored ({len(before) - len(missing)} of "
            f"{len(before)})", not missing, missing)
    wrong = {b.id: (found.get(b.id), status_at_t[b.id]) for b in before
             if b.id in found and found[b.id] != status_at_t[b.id]}
    h.check("... each in the state it had at T (held or confirmed)", not wrong,
            f"(restored, at T) {wrong}")
    present = [b.id for b in after if b.id in found]
    h.check(f"no booking made after T is there (0 of {len(after)})", not present, present)
    over = h.overbooked_night_count(restored)
    h.check_equal("0 nights over capacity in the restored cluster", over, 0)
    h.check_equal("0 counters differing from a recount in the restored cluster",
                  recount_mismatches(restored), 0)
    h.info(f"restored: {len(before)} before T found, {len(after)} after T absent; "
           f"{over} nights over capacity, timeline "
           f"{h.scalar(restored, 'SELECT timeline_id FROM pg_control_checkpoint()')}")


def check_verify_and_prune(drill, url, first_backup):
    h.check_equal("the primary's counters agree with a recount too (the check is sound)",
                  recount_mismatches(url), 0)
    damaged = damage_one_file(first_backup)
    rc, out, err = backup_sh("verify", first_backup)
    h.check(f"backup.sh verify rejects a backup with one flipped byte ({damaged})", rc != 0,
            f"exit {rc}; {out!r} {err!r}")

    out = must("a second base backup", backup_sh("base", drill.primary.dir, drill.backups))
    second = out.strip().splitlines()[-1]
    h.scalar(url, "SELECT pg_switch_wal()")
    segments_before = archived_segments(drill.archive)
    out = must("backup.sh prune --keep 1",
               backup_sh("prune", drill.archive, drill.backups, "--keep", "1"))
    h.info(out.strip())
    left = sorted(d for d in os.listdir(drill.backups) if d.startswith("base-"))
    h.check_equal("prune keeps only the newest base backup", left, [os.path.basename(second)])
    segments = archived_segments(drill.archive)
    oldest_needed = segment_of(start_segment(second))
    h.check(f"prune removed the WAL older than the kept backup's start ({oldest_needed}): "
            f"{len(segments_before)} -> {len(segments)} segments",
            segments and all(segment_of(s) >= oldest_needed for s in segments)
            and len(segments) < len(segments_before), segments)
    h.check("... and kept the segment the kept backup starts in",
            any(segment_of(s) == oldest_needed for s in segments), segments)
    must("the kept backup still verifies", backup_sh("verify", second))
    directory, took, result = restore(drill, second, "latest", 5434)
    must(f"the kept backup and the pruned archive restore to the latest point ({took:.1f} s)",
         result)
    h.check_equal("... with no counter differing from a recount",
                  recount_mismatches(h.pg_url(directory, "logeer")), 0)


h.main(globals())
