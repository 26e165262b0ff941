"""deploy/pg.sh keeps a cluster in /tmp/logeer-pg-<hash> when the directory it is asked for cannot
hold one (the socket path would be too long, or the postgres user cannot reach it), and links
that directory to it. When the directory goes (a clone or temp dir removed), nothing could name
that cluster any more: the next `pg.sh start` removes it once it is stopped, and leaves alone a
cluster that is still linked or still running. Runs its own clusters, never the shared fixture."""

import os
import shutil
import subprocess
import tempfile

import harness as h

# Longer than a Unix socket path may be, so pg.sh must use /tmp whoever runs the test.
DEEP = "d" * 90


def pg_sh(*args):
    proc = subprocess.run([h.PG_SH, *args], capture_output=True, text=True, timeout=120 * h.SLACK)
    return proc.returncode, proc.stdout, proc.stderr


def started_in_tmp(name, directory):
    """Starts a cluster in directory and returns the /tmp cluster it links to."""
    rc, out, err = pg_sh("start", directory)
    h.check(f"{name} starts", rc == 0, f"exit {rc}: {err[-800:]}")
    target = os.readlink(directory) if os.path.islink(directory) else None
    h.check(f"{name} lives in /tmp, linked from its directory",
            target is not None and target.startswith("/tmp/logeer-pg-"), f"{target}")
    return target


def test_a_cluster_whose_directory_is_gone_goes_at_the_next_start():
    parent = tempfile.mkdtemp(prefix="logeer-pgsh-")
    alts = []
    try:
        gone = os.path.join(parent, "gone", DEEP)
        kept = os.path.join(parent, "kept", DEEP)
        running = os.path.join(parent, "running", DEEP)
        for d in (gone, kept, running):
            os.makedirs(d)
        alt_gone = started_in_tmp("the first cluster", gone)
        alt_kept = started_in_tmp("the second cluster", kept)
        alt_running = started_in_tmp("the third cluster", running)
        alts = [a for a in (alt_gone, alt_kept, alt_running) if a]
        h.check("each records the directory it was made for",
                all(open(os.path.join(a, "linked-from")).read().strip() in (gone, kept, running)
                    for a in alts))
        for d in (gone, kept):
            pg_sh("stop", d)
        # The first and third directories are removed; the third cluster is still running.
        shutil.rmtree(os.path.join(parent, "gone"))
        shutil.rmtree(os.path.join(parent, "running"))

        other = os.path.join(parent, "other", DEEP)
        os.makedirs(other)
        alt_other = started_in_tmp("a fourth cluster", other)
        if alt_other:
            alts.append(alt_other)
        h.check("the stopped cluster nobody links to is gone", not os.path.exists(alt_gone))
        h.check("the stopped cluster still linked is kept",
                os.path.exists(os.path.join(alt_kept, "data", "PG_VERSION")))
        h.check("the running cluster nobody links to is kept",
                os.path.exists(os.path.join(alt_running, "data", "PG_VERSION")))
        rc, _, _ = pg_sh("status", kept)
        h.check_equal("the kept cluster is known by its directory (stopped)", rc, 3)

        pg_sh("stop", alt_running)
        pg_sh("stop", other)
        shutil.rmtree(os.path.join(parent, "other"))
        pg_sh("start", kept)
        h.check("once stopped, it goes at the next start too", not os.path.exists(alt_running))
        h.check("and so does the fourth", not os.path.exists(alt_other))
        pg_sh("stop", kept)
    finally:
        for a in alts:
            subprocess.run([h.PG_SH, "stop-immediate", a], capture_output=True, timeout=120)
            shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)


h.main(globals())
