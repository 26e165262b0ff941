#!/usr/bin/env bash
# run.sh: the reservation core's benchmark, in one run: builds a Release logeerd, starts a private
# PostgreSQL in a temp dir, loads a synthetic national data set (tests/bench/national.sql), then
# measures availability search, booking through the API and booking under contention with wrk,
# and checks afterwards that no night was overbooked and that every counter matches the stays.
# Two ceilings in the same run put those figures in proportion: a bare libevent server that
# answers every request with a captured search response (ceiling_http.c), and pgbench calling
# the booking function directly (ceiling_book.sql).
# It never touches a system PostgreSQL or the working tree beyond its build dir and out/, and
# stops and removes everything it started on exit. A benchmark, not a test: it prints figures.
#
# Usage: tests/bench/run.sh          (as root or a normal user; needs wrk, curl, cmake, psql,
#                                    pgbench, cc and pkg-config with libevent)
# Knobs (environment): BENCH_BUILD_DIR (default build-bench/), BENCH_PORT (18480),
# BENCH_SECONDS (15, search and booking runs), BENCH_CONTENTION_SECONDS (10),
# BENCH_CONNECTIONS (64), BENCH_CONNECTIONS_HIGH (256, the second search run and its
# ceiling), BENCH_LOGINS (128 caregivers), BENCH_WORKERS (1: logeerd serve --workers; the
# ceiling stays one event loop), BENCH_WORKERS_AB (N: the 64-connection search once more from
# N processes, in the same run); the search ceiling listens on BENCH_PORT + 1.
# BENCH_PROFILE=SEARCH (or FLOOR, SEARCH_HIGH, BOOK, CONTEND, or several: FLOOR,SEARCH)
# samples logeerd with perf during that run and prints where its CPU went (needs perf; the
# Release build keeps no frame pointers, so the report is flat: self time per function).
# BENCH_PROFILE_ALL=1 samples the whole machine instead (PostgreSQL's backends, wrk, the
# kernel) and sorts by program first. BENCH_SEARCH_ONLY=1 skips the booking runs (for quick
# iterations on search). BENCH_PG_STATEMENTS=CONTEND (same names) loads pg_stat_statements
# (track = all, nested statements too) and prints, after that run, the statements that took
# PostgreSQL's time: where a booking's milliseconds go.
# Booking (issue 17): the API booking run, pgbench on logeer_book_stay and pgbench on the bare
# transaction (bare_book.sql) run side by side and their ratios are printed. The contention
# run is 32 connections racing for the last 8 beds of one night (BENCH_CONTENTION_CONNECTIONS);
# BENCH_CONTENTION_WIDE=1 adds the older 64 connections on 4 pools x 2 beds.
# BENCH_POOL_SIZES="2 4 8 16" restarts logeerd with each LOGEER_DB_POOL_SIZE and runs booking and
# contention at each (BENCH_SWEEP_SECONDS, 10). BENCH_BASE=<git rev> is the compare mode: it
# builds that revision's logeerd (git archive into the temp dir) and migrates a database with
# its migrations, loads the data set once, clones that database and migrates the clone with this
# tree's migrations, then runs the booking measurements against both back to back and prints
# them as before | after columns (no search runs in this mode); BENCH_CONTEND_ROUNDS=N adds
# N alternating contention runs per side (see contend_rounds; 0 in compare mode, 3 in a plain
# run, where they follow the first contention run). BENCH_KEEP=1 leaves the
# cluster running after a successful run and prints how to reach and remove it.
# BENCH_PG_SETTINGS="name=value ..." sets PostgreSQL settings for the run (ALTER SYSTEM).
# BENCH_SEARCH_BASE=<git rev>: a search change's own effect. That revision's logeerd (built as
# in compare mode; its migrations must be this tree's) serves the same database beside this
# tree's, and BENCH_SEARCH_BASE_ROUNDS (4) rounds of the ceiling, the base and this tree (the
# order turned every round) print each side's req/s and CPU per search and the medians of
# tree / base (see search_base_rounds).
# BENCH_WARM_UP=S (3): seconds of unmeasured race before each contention round.
# BENCH_SEARCH_ROUNDS=N (3): N alternating rounds of the search ceiling and logeerd's search
# after the first runs, with the median ratio (see search_rounds); BENCH_ROUND_SECONDS (10).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$ROOT/tests/bench
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}
PORT=${BENCH_PORT:-18480}
SECONDS_RUN=${BENCH_SECONDS:-15}
SECONDS_CONTENTION=${BENCH_CONTENTION_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
CONNS_HIGH=${BENCH_CONNECTIONS_HIGH:-256}
LOGINS=${BENCH_LOGINS:-128}
WORKERS=${BENCH_WORKERS:-1}
PASSWORD=bench-password-$$-$RANDOM
BASE_URL=http://127.0.0.1:$PORT

WORK=$(mktemp -d "${TMPDIR:-/tmp}/logeer-bench.XXXXXX")
PGDIR=$WORK/pg
SERVE_PID=
CEIL_PID=
CEIL_PORT=$((PORT + 1))
CONNS_CONTEND=${BENCH_CONTENTION_CONNECTIONS:-32}
SECONDS_SWEEP=${BENCH_SWEEP_SECONDS:-10}
BASE_REV=${BENCH_BASE:-}
declare -A SIDE=()
CONTEND_WIDE="BENCH skipped" CONTEND_WIDE_SERVER=- CONTEND_WIDE_CPU=- BARE_TPS=- BARE_LINE=- BARE_CPU=- BARE_QUIET_TPS=- BARE_QUIET_LINE=- BARE_QUIET_CPU=- CEIL_BOOK_CPU=-
ROUND_SEARCHES=0 FLOOR=- SEARCH_CPU=- BOOK_CPU=- CONTEND_CPU=- SEARCH_SERVER=- BOOK_SERVER=- CONTEND_SERVER=- SEARCH_LOGGED=- SEARCH_LOG_ROWS=- DB_ERRORS=-
CEIL_SEARCH="BENCH ceiling skipped" CEIL_SEARCH_CPU=- CEIL_BODY_BYTES=- CEIL_BOOK_TPS=- CEIL_BOOK_LINE=-
SEARCH_HIGH="BENCH skipped" SEARCH_HIGH_SERVER=- SEARCH_HIGH_CPU=- CEIL_SEARCH_HIGH="BENCH skipped" CORE_SCALING=-
OUT_DIR=$BENCH/out
mkdir -p "$OUT_DIR"
REPORT=$OUT_DIR/run-$(date -u +%Y%m%dT%H%M%SZ).txt

# Everything printed also lands in out/ (gitignored), so a run can be quoted later.
exec > >(tee "$REPORT") 2>&1
TEE_PID=$!

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
    local rc=$?
    set +e
    if [ -n "$CEIL_PID" ] && kill -0 "$CEIL_PID" 2>/dev/null; then
        kill -TERM "$CEIL_PID"; wait "$CEIL_PID" 2>/dev/null
    fi
    if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID"
        for _ in $(seq 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVE_PID" 2>/dev/null
    fi
    if [ -n "${BENCH_KEEP:-}" ] && [ "$rc" -eq 0 ] && [ -e "$PGDIR" ]; then
        # BENCH_KEEP: the database as the last run left it, to look into (EXPLAIN, pg_stat_*).
        say "BENCH_KEEP: the cluster is still running: psql '${DB_URL:-$("$ROOT/deploy/pg.sh" url "$PGDIR" logeer_bench)}'"
        say "  stop it with: deploy/pg.sh stop $PGDIR && rm -rf $(readlink -f -- "$PGDIR") $WORK"
        exec 1>&- 2>&-
        wait "$TEE_PID" 2>/dev/null
        exit 0
    fi
    if [ -e "$PGDIR" ]; then
        # pg.sh may have put the cluster under /tmp and linked it from PGDIR; remove both.
        local real
        real=$(readlink -f -- "$PGDIR")
        "$ROOT/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1
        case $real in
            "$WORK"/*|/tmp/logeer-pg-*) rm -rf -- "$real" ;;
        esac
    fi
    rm -rf -- "$WORK"
    [ "$rc" -eq 0 ] || say "run.sh: FAILED (exit $rc); report so far in $REPORT"
    # Let tee write the last lines before the caller gets its prompt back.
    exec 1>&- 2>&-
    wait "$TEE_PID" 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null || { say "run.sh: $1 is not installed"; exit 1; }; }
for tool in wrk curl cmake psql awk pgbench cc pkg-config; do need "$tool"; done

# BENCH_PG_SETTINGS="name=value ...": PostgreSQL settings for this run (ALTER SYSTEM, then a
# reload), e.g. log_autovacuum_min_duration=0 to see in the cluster's log (kept with
# BENCH_KEEP) whether a slow round met autovacuum or a checkpoint.
pg_settings_apply() {
    [ -n "${BENCH_PG_SETTINGS:-}" ] || return 0
    local admin setting args=()
    admin=$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)
    for setting in $BENCH_PG_SETTINGS; do
        args+=(-c "ALTER SYSTEM SET ${setting%%=*} = '${setting#*=}'")
    done
    psql -X -q -v ON_ERROR_STOP=1 -d "$admin" "${args[@]}" -c 'SELECT pg_reload_conf()' >/dev/null
    say "PostgreSQL settings for this run: $BENCH_PG_SETTINGS"
}

# BENCH_PG_STATEMENTS: pg_stat_statements must be preloaded, so the cluster restarts once.
pg_statements_enable() {
    [ -n "${BENCH_PG_STATEMENTS:-}" ] || return 0
    local admin; admin=$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)
    psql -X -q -v ON_ERROR_STOP=1 -d "$admin" \
        -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
        -c "ALTER SYSTEM SET track_functions = 'pl'"
    "$ROOT/deploy/pg.sh" stop "$PGDIR" >/dev/null
    "$ROOT/deploy/pg.sh" start "$PGDIR" >/dev/null 2>"$WORK/pg.err" || { cat "$WORK/pg.err"; exit 1; }
    # The module's settings exist only once it is loaded.
    psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c 'CREATE EXTENSION pg_stat_statements' \
        -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" \
        -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c 'SELECT pg_reload_conf()' >/dev/null
}

# Statements by PostgreSQL time since the last reset (nested ones count inside their caller
# too); run_wrk resets before and calls this after a run that BENCH_PG_STATEMENTS names.
pg_statements_report() {
    local admin; admin=$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)
    say "  pg_stat_statements: top 25 by total time: ms, calls, ms per call, plans, ms planning per call, buffers per call (planning included), statement"
    psql -X -qAtF' | ' -d "$admin" -c "SELECT round(total_exec_time::numeric, 0), calls,
            round((total_exec_time / greatest(calls, 1))::numeric, 3), plans,
            round((total_plan_time / greatest(calls, 1))::numeric, 3),
            round((shared_blks_hit + shared_blks_read)::numeric / greatest(calls, 1), 1),
            left(regexp_replace(query, '\s+', ' ', 'g'), 110)
          FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" | sed 's/^/    /'
    # A key lookup planned as a sequential scan shows here first (counters since start-up).
    say "  sequential scans so far (table: scans, rows read; the first 6 by rows read)"
    psql -X -qAtF' ' -d "$DB_URL" -c "SELECT relname || ':', seq_scan, seq_tup_read
          FROM pg_stat_user_tables WHERE seq_scan > 0
         ORDER BY seq_tup_read DESC LIMIT 6" | sed 's/^/    /'
}

psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
# One value from the database.
sql_value() { psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB_URL" -c "$1"; }

# A BENCH line's field, e.g. field "$line" rps; 0 when absent.
field() { local v; v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1); echo "${v:-0}"; }

machine() {
    step "machine"
    say "cpus:    $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
    say "memory:  $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    say "kernel:  $(uname -r)"
    say "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at start)"
    say "tools:   $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), $(psql --version)"
}

build() {
    step "build (Release) in $BUILD_DIR"
    local t0; t0=$(now)
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLOGEER_TESTS=OFF >/dev/null
    cmake --build "$BUILD_DIR" -j"$(nproc)" >"$WORK/build.log" 2>&1 \
        || { tail -n 40 "$WORK/build.log"; exit 1; }
    LOGEERD=$BUILD_DIR/logeerd
    BENCH_SEARCH=$BUILD_DIR/bench_search
    # The search ceiling is no part of the product: built here, beside it, not through CMake.
    CEILING_HTTP=$BUILD_DIR/ceiling_http
    # shellcheck disable=SC2046
    cc -std=c17 -O2 -Wall -Wextra -Werror -o "$CEILING_HTTP" "$BENCH/ceiling_http.c" \
        $(pkg-config --cflags --libs libevent) >>"$WORK/build.log" 2>&1 \
        || { tail -n 20 "$WORK/build.log"; exit 1; }
    say "built in $(since "$t0") s: $LOGEERD, $CEILING_HTTP"
}

database() {
    step "PostgreSQL, migrations, national data set"
    "$ROOT/deploy/pg.sh" start "$PGDIR" >/dev/null 2>"$WORK/pg.err" || { cat "$WORK/pg.err"; exit 1; }
    pg_statements_enable
    pg_settings_apply
    psql -X -q -d "$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)" -c 'CREATE DATABASE logeer_bench'
    DB_URL=$("$ROOT/deploy/pg.sh" url "$PGDIR" logeer_bench)
    export LOGEER_DATABASE_URL=$DB_URL LOGEER_MIGRATIONS_DIR=$ROOT/migrations
    "$LOGEERD" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
    say "schema version $(sql_value 'SELECT max(version) FROM schema_migrations' 2>/dev/null || echo '?')"
    # The one real Argon2id hash; national.sql copies it to every other bench account.
    printf '%s\n' "$PASSWORD" | "$LOGEERD" user add --email coordinator@bench.logeer.nl \
        --role coordinator >/dev/null
    local t0; t0=$(now)
    psql_db -f "$BENCH/national.sql"
    LOAD_S=$(since "$t0")
    NIGHT_ROWS=$(sql_value 'SELECT count(*) FROM pool_nights')
    say "loaded in ${LOAD_S} s: $(sql_value "SELECT format('%s municipalities, %s providers, %s locations, %s pools (%s planned, %s crisis; %s planned instant), %s caregivers',
        (SELECT count(*) FROM municipalities), (SELECT count(*) FROM providers),
        (SELECT count(*) FROM locations), (SELECT count(*) FROM pools),
        (SELECT count(*) FROM pools WHERE kind = 'planned'), (SELECT count(*) FROM pools WHERE kind = 'crisis'),
        (SELECT count(*) FROM pools WHERE kind = 'planned' AND booking_mode = 'instant'),
        (SELECT count(*) FROM users WHERE role = 'caregiver'))"), $NIGHT_ROWS pool_nights rows"
    say "database size $(sql_value "SELECT pg_size_pretty(pg_database_size(current_database()))")"
    settle_after_load "$DB_URL"
}

# The load writes some 600 MB in one go: left alone, its aftermath runs through the measured
# part of the run, a spread checkpoint of the load's WAL for about 4.5 minutes (with full-page
# images of every page first touched after it began) and autovacuum's pass over the 3.6 million
# new pool_nights rows. A database in service meets neither at that scale. So, as pgbench does
# before it measures, the loaded tables are vacuumed (analyzed again too: national.sql's
# ANALYZE stands) and a checkpoint is taken before anything is measured. Timed checkpoints
# still come every checkpoint_timeout during the run, as in service.
settle_after_load() {
    local t0 url; t0=$(now)
    for url in "$@"; do
        psql -X -q -v ON_ERROR_STOP=1 -d "$url" \
            -c 'VACUUM (ANALYZE) municipalities, providers, locations, pools, pool_nights, users' >/dev/null
    done
    psql -X -q -v ON_ERROR_STOP=1 -d "$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)" -c 'CHECKPOINT' >/dev/null
    say "vacuumed the loaded tables and took a checkpoint in $(since "$t0") s"
}

serve() {
    step "logeerd serve on $BASE_URL, $WORKERS worker process(es) (${POOL_SIZE:+LOGEER_DB_POOL_SIZE=$POOL_SIZE, }default settings otherwise)"
    if curl -s -o /dev/null --max-time 2 "$BASE_URL/livez"; then
        say "something already answers on $BASE_URL; set BENCH_PORT"; exit 1
    fi
    local t0; t0=$(now)
    # POOL_SIZE (the pool sweep) overrides LOGEER_DB_POOL_SIZE; env execs, so $! is logeerd.
    # The bench's staff sign in with a password alone: the two-step rule is off here, as in
    # the local demo, or the coordinator's searches would answer 403 second-factor-required.
    # BENCH_TREE_ENV="NAME=value ...": more environment for this tree's logeerd only (an A/B
    # of a setting against BENCH_SEARCH_BASE=HEAD).
    # shellcheck disable=SC2086
    env ${POOL_SIZE:+LOGEER_DB_POOL_SIZE=$POOL_SIZE} LOGEER_LISTEN=127.0.0.1:$PORT LOGEER_WORKERS=$WORKERS \
        LOGEER_MFA_REQUIRED_ROLES= ${BENCH_TREE_ENV:-} "$LOGEERD" serve >"$WORK/logeerd.out" 2>"$WORK/logeerd.err" &
    SERVE_PID=$!
    local deadline=$(( $(date +%s) + 600 ))
    until curl -sf -o /dev/null "$BASE_URL/readyz"; do
        if ! kill -0 "$SERVE_PID" 2>/dev/null; then
            tail -n 20 "$WORK/logeerd.err"; say "logeerd exited before it was ready"; exit 1
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { say "logeerd not ready after 600 s"; exit 1; }
        sleep 0.05
    done
    READY_S=$(since "$t0")
    RSS_READY=$(rss_mib)
    say "ready (availability index loaded) after ${READY_S} s; VmRSS ${RSS_READY} MiB"
}

# With BENCH_WORKERS the first logeerd forks the others: its CPU counts them all.
logeerd_pids() { echo "$SERVE_PID" $(pgrep -P "$SERVE_PID"); }

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVE_PID/status"; }

login_one() {
    curl -s -X POST -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" "$BASE_URL/v1/sessions" \
        | grep -o '"token":"[^"]*"' | cut -d'"' -f4
}

login_all() {
    step "log in (POST /v1/sessions): $LOGINS caregivers, the referrer, the coordinator"
    export -f login_one
    export PASSWORD BASE_URL
    local t0; t0=$(now)
    {
        seq -f 'caregiver caregiver-%04g@bench.logeer.nl' 1 "$LOGINS"
        echo "referrer referrer@bench.logeer.nl"
        echo "coordinator coordinator@bench.logeer.nl"
    } | xargs -P 4 -L 1 bash -c 't=$(login_one "$1"); [ -n "$t" ] && echo "$0 $t"' \
        >"$WORK/tokens"
    LOGIN_S=$(since "$t0")
    LOGIN_N=$(grep -c ' ' "$WORK/tokens")
    say "$LOGIN_N sessions in ${LOGIN_S} s (Argon2id verification on the worker threads)"
    [ "$LOGIN_N" -eq $((LOGINS + 2)) ] || { say "some logins failed"; exit 1; }
}

inputs() {
    psql -X -qAtF' ' -d "$DB_URL" -c 'SELECT code, lat, lon FROM municipalities ORDER BY code' \
        >"$WORK/munis"
    psql -X -qAtF' ' -d "$DB_URL" -c "SELECT id, care_profiles[1], min_nights, lead_days FROM pools
        WHERE kind = 'planned' AND booking_mode = 'instant' AND name NOT LIKE 'Contention %'
        ORDER BY id" >"$WORK/pools"
    # The contention run races for one pool's 8 beds on one night; the wide run (optional) for
    # 4 pools of 2 beds over three nights.
    psql -X -qAtF' ' -d "$DB_URL" -c "SELECT id, 'somatic', 1, 0 FROM pools
        WHERE name = 'Contention last beds'" >"$WORK/contention_pools"
    psql -X -qAtF' ' -d "$DB_URL" -c "SELECT id, 'somatic', 1, 0 FROM pools
        WHERE name LIKE 'Contention _' ORDER BY id" >"$WORK/contention_wide_pools"
    [ -s "$WORK/contention_pools" ] || { say "national.sql has no pool 'Contention last beds'"; exit 1; }
    # Noon UTC of today's date in the service's zone: the Lua scripts add whole days to it.
    TODAY_NOON=$(date -u -d "$(TZ=Europe/Amsterdam date +%F) 12:00" +%s)
}

# CPU accounting, in clock ticks: the machine's busy time, logeerd's, our PostgreSQL's (the
# postmaster and its backends) and our children's (wrk). The machine may be shared; this says
# how much of it the benchmark really had.
CLK_TCK=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { local p s=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$s"; }
pg_pids() {
    local pm
    pm=$(head -n1 "$(readlink -f -- "$PGDIR")/data/postmaster.pid" 2>/dev/null) || return 0
    echo "$pm" $(pgrep -P "$pm")
}
# A mark in variable $1: "busy logeerd postgres children epoch". The children's CPU (wrk's,
# once it has been waited for) comes from `times`, which must run in this shell, not in a
# command substitution: a forked subshell starts with no children of its own.
cpu_mark() {
    times >"$WORK/times"
    local c
    c=$(tail -n1 "$WORK/times" | awk -v hz="$CLK_TCK" '{
        n = 0
        for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += (a[1] * 60 + a[2]) * hz }
        printf "%d", n }')
    printf -v "$1" '%s' "$(busy_ticks) $(proc_ticks $(logeerd_pids)) $(proc_ticks $(pg_pids)) $c $(date +%s.%N)"
}
# Prints the cores each party used between two marks.
cpu_report() {
    read -r b0 l0 p0 c0 t0 <<<"$1"
    read -r b1 l1 p1 c1 t1 <<<"$2"
    awk -v hz="$CLK_TCK" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        -v b=$((b1 - b0)) -v l=$((l1 - l0)) -v p=$((p1 - p0)) -v c=$((c1 - c0)) -v n="$(nproc)" 'BEGIN {
        f = hz * s
        o = b - l - p - c; if (o < 0) o = 0
        printf "  cpu (cores of %d): logeerd %.2f, postgres %.2f, wrk %.2f, other processes %.2f\n",
               n, l / f, p / f, c / f, o / f }'
}

# logeerd's loop-lag histogram now: ticks, ticks later than 20 ms, later than 50 ms ("0 0 0"
# from a binary without it).
lag_mark() {
    curl -s "$BASE_URL/metrics" | awk '
        /^logeer_event_loop_lag_seconds_count/ { n = $2 }
        /^logeer_event_loop_lag_seconds_bucket\{le="0.02"\}/ { a = $2 }
        /^logeer_event_loop_lag_seconds_bucket\{le="0.05"\}/ { b = $2 }
        END { printf "%d %d %d\n", n, n - a, n - b }'
}

# The loop's stalls between two lag_marks, as a line of the report.
lag_report() {
    local t0 a0 b0 t1 a1 b1
    read -r t0 a0 b0 <<<"$1"
    read -r t1 a1 b1 <<<"$2"
    if [ "$t1" -eq 0 ]; then
        say "  event loop: no loop-lag metric in this binary"
    else
        say "  event loop: $((t1 - t0)) ticks of 25 ms, $((a1 - a0)) of them later than 20 ms, $((b1 - b0)) later than 50 ms"
    fi
}

# wrk with our settings (WRK_CONNS connections, CONNS unless set); prints wrk's own output
# and keeps the BENCH line in $2.
run_wrk() {
    local seconds=$1 var=$2 script=$3
    shift 3
    local out m0 m1 log0 conns=${WRK_CONNS:-$CONNS} perf_pid=
    log0=$(wc -l <"$WORK/logeerd.out")
    if [[ ",${BENCH_PROFILE:-}," == *",$var,"* ]]; then
        local target=(-p "$(logeerd_pids | tr ' ' ',')")
        [ -z "${BENCH_PROFILE_ALL:-}" ] || target=(-a)
        perf record -q -F 999 -e cpu-clock -o "$WORK/perf.data" "${target[@]}" \
            -- sleep "$seconds" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    local pg_statements=
    if [[ ",${BENCH_PG_STATEMENTS:-}," == *",$var,"* ]]; then
        pg_statements=1
        psql -X -qAt -d "$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)" \
            -c 'SELECT pg_stat_statements_reset()' >/dev/null
    fi
    local lag0
    lag0=$(lag_mark)
    cpu_mark m0
    out=$(wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$BENCH/$script" "$BASE_URL" -- "$@" 2>&1)
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        # BENCH_PROFILE_SAVE=FILE keeps the samples (perf annotate, perf report by line).
        [ -z "${BENCH_PROFILE_SAVE:-}" ] || cp "$WORK/perf.data" "$BENCH_PROFILE_SAVE"
        if [ -z "${BENCH_PROFILE_ALL:-}" ]; then
            say "  perf: logeerd's CPU during this run by object"
            perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 6 { print "    " $0 }'
            say "  perf: logeerd's CPU during this run, self time by function (top 25)"
            perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 25 { print "    " $0 }'
        else
            say "  perf: the whole machine's CPU during this run, by program (top 12) and function (top 40)"
            perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 12 { print "    " $0 }'
            perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null \
                | grep -E '^ +[0-9]' | awk 'NR <= 40 { print "    " $0 }'
        fi
    fi
    cpu_mark m1
    printf '%s\n' "$out" | grep -v '^BENCH' | sed 's/^/  /'
    [ -z "$pg_statements" ] || pg_statements_report
    printf -v "$var" '%s' "$(printf '%s\n' "$out" | grep '^BENCH' | tail -n1)"
    say "  ${!var}"
    [ -n "${!var}" ] || { say "wrk printed no result"; exit 1; }
    # The server's own view from its access log (time from request parsed to reply), as a
    # cross-check of wrk's client-side figures.
    local server
    server=$(tail -n +"$((log0 + 1))" "$WORK/logeerd.out" | grep -ao '"duration_ms":[0-9.e+-]*' \
        | cut -d: -f2 | sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "no access log lines"; exit }
            printf "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.0f ms over %d requests",
                   v[int(NR * 0.50) + 1], v[int(NR * 0.90) + 1], v[int(NR * 0.99) + 1], v[NR], NR }')
    say "  server-side: $server"
    lag_report "$lag0" "$(lag_mark)"
    # Little's law: with one request in flight per connection, throughput x mean latency can
    # never exceed the connections. When wrk's figures break it, its latency histogram is not
    # to be trusted for that run (seen with multi-second stalls); the server-side line is.
    say "  consistency: rps x mean latency = $(awk -v r="$(field "${!var}" rps)" -v m="$(field "${!var}" mean_ms)" -v c="$conns" 'BEGIN {
        l = r * m / 1000
        printf "%.0f in flight for %d connections%s", l, c, (l > c * 1.1) ? " -- INCONSISTENT: distrust wrk latency here" : " (consistent)" }')"
    printf -v "${var}_SERVER" '%s' "$server"
    local cpu
    cpu=$(cpu_report "$m0" "$m1")
    say "$cpu"
    printf -v "${var}_CPU" '%s' "$(printf '%s' "$cpu" | sed 's/^ *cpu (cores of [0-9]*): //')"
}

floor() {
    step "HTTP floor: GET /livez (no auth, no database): wrk -t1 -c$CONNS -d5s (plain.lua)"
    run_wrk 5 FLOOR plain.lua /livez
}

# The measured runs do not read the answers (see search.lua); this short run reads every one:
# each must be a 200, and how many found nothing says whether the queries ask for real beds.
search_check() {
    step "search answers read: wrk -t1 -c$CONNS -d3s (search.lua, check)"
    SEARCH_CHECK=$(wrk -t1 -c"$CONNS" -d3s -s "$BENCH/search.lua" "$BASE_URL" -- "$WORK/tokens" \
        "$WORK/munis" "$TODAY_NOON" check 2>&1 | grep '^BENCH' | tail -n1)
    [ -n "$SEARCH_CHECK" ] || { say "wrk printed no result"; exit 1; }
    SEARCH_CHECK_LINE="$(field "$SEARCH_CHECK" requests) answers read: $(count_of "$SEARCH_CHECK" 200) of status 200, $(count_of "$SEARCH_CHECK" empty_results) of them with no result, other statuses $(( $(field "$SEARCH_CHECK" requests) - $(count_of "$SEARCH_CHECK" 200) ))"
    say "  $SEARCH_CHECK_LINE"
}

search() {
    search_check
    step "availability search: wrk -t1 -c$CONNS -d${SECONDS_RUN}s (search.lua)"
    run_wrk "$SECONDS_RUN" SEARCH search.lua "$WORK/tokens" "$WORK/munis" "$TODAY_NOON"
    step "availability search: wrk -t1 -c$CONNS_HIGH -d${SECONDS_RUN}s (search.lua)"
    WRK_CONNS=$CONNS_HIGH run_wrk "$SECONDS_RUN" SEARCH_HIGH search.lua "$WORK/tokens" \
        "$WORK/munis" "$TODAY_NOON"
}

# BENCH_WORKERS_AB=N: after the search ceiling, the search run at $CONNS connections again from
# logeerd restarted with N serving processes, against the same one-loop ceiling: the effect of
# --workers within one run (sessions live in the database, so the tokens still work).
search_workers_ab() {
    [ -n "${BENCH_WORKERS_AB:-}" ] || return 0
    step "search again from $BENCH_WORKERS_AB serving processes (BENCH_WORKERS_AB)"
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
    WORKERS=$BENCH_WORKERS_AB
    serve
    step "availability search, $WORKERS processes: wrk -t1 -c$CONNS -d${SECONDS_RUN}s (search.lua)"
    run_wrk "$SECONDS_RUN" SEARCH_AB search.lua "$WORK/tokens" "$WORK/munis" "$TODAY_NOON"
    SEARCH_AB_LINE="$(field "$SEARCH_AB" rps) req/s with $WORKERS processes: search / ceiling $(ratio "$(field "$SEARCH_AB" rps)" "$(field "$CEIL_SEARCH" rps)") (one process: $(ratio "$(field "$SEARCH" rps)" "$(field "$CEIL_SEARCH" rps)"))"
    say "  $SEARCH_AB_LINE"
}

# Starts the search ceiling with the captured body and waits until it answers.
ceiling_start() {
    "$CEILING_HTTP" "$CEIL_PORT" "$CEIL_BODY" >"$WORK/ceiling.log" 2>&1 &
    CEIL_PID=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$CEIL_PORT/"; do
        kill -0 "$CEIL_PID" 2>/dev/null || { cat "$WORK/ceiling.log"; say "ceiling_http exited"; exit 1; }
        sleep 0.05
    done
}

# BENCH_SEARCH_ROUNDS=N (3; 0 for none): after the first search and ceiling runs, N rounds of
# the ceiling and logeerd's search (in turns first) at $CONNS connections (BENCH_ROUND_SECONDS each, 10, after
# 2 s of warm-up), and the median of the rounds' ratios. The ceiling itself moves by a fifth
# from minute to minute on a shared machine; within a round both meet the same minute. logeerd's
# CPU per search (its ticks over the round's requests) moves less than req/s does.
search_rounds() {
    local n=${BENCH_SEARCH_ROUNDS:-3} secs=${BENCH_ROUND_SECONDS:-10} i c s w t0 t1 us rows=()
    [ "$n" -gt 0 ] || return 0
    # One ceiling run of the round, after 2 s of warm-up, into c.
    round_ceiling() {
        wrk -t1 -c"$CONNS" -d2s -s "$BENCH/plain.lua" "http://127.0.0.1:$CEIL_PORT" -- /v1/availability >/dev/null 2>&1
        c=$(wrk -t1 -c"$CONNS" -d"${secs}s" -s "$BENCH/plain.lua" "http://127.0.0.1:$CEIL_PORT" \
            -- /v1/availability 2>&1 | grep '^BENCH' | tail -n1)
    }
    step "search rounds: $n x (ceiling and logeerd, in turns first), wrk -t1 -c$CONNS -d${secs}s each after 2 s of warm-up"
    ceiling_start
    for ((i = 1; i <= n; i++)); do
        # The order alternates (odd rounds the ceiling first), so that whatever the second run of
        # a pair meets (a warmer or a busier machine) falls on both sides alike.
        [ $((i % 2)) = 0 ] || round_ceiling
        w=$(wrk -t1 -c"$CONNS" -d2s -s "$BENCH/search.lua" "$BASE_URL" -- "$WORK/tokens" \
            "$WORK/munis" "$TODAY_NOON" 2>&1 | grep '^BENCH' | tail -n1)
        t0=$(proc_ticks $(logeerd_pids))
        s=$(wrk -t1 -c"$CONNS" -d"${secs}s" --latency -s "$BENCH/search.lua" "$BASE_URL" -- \
            "$WORK/tokens" "$WORK/munis" "$TODAY_NOON" 2>&1 | grep '^BENCH' | tail -n1)
        t1=$(proc_ticks $(logeerd_pids))
        [ $((i % 2)) = 1 ] || round_ceiling
        [ -n "$c" ] && [ -n "$s" ] || { say "wrk printed no result"; exit 1; }
        ROUND_SEARCHES=$((ROUND_SEARCHES + $(answered "$s") + $(answered "$w")))
        us=$(awk -v t=$((t1 - t0)) -v n="$(field "$s" requests)" -v hz="$CLK_TCK" \
            'BEGIN { printf "%.1f", (n > 0) ? t / hz * 1e6 / n : 0 }')
        rows+=("$i $(field "$c" rps) $(field "$s" rps) $(field "$s" p99_ms) $us $(( $(field "$s" requests) - $(answered "$s") ))")
        say "  round $i: ceiling $(field "$c" rps) req/s, search $(field "$s" rps) req/s (p99 $(field "$s" p99_ms) ms, logeerd $us us of CPU a search), search / ceiling $(ratio "$(field "$s" rps)" "$(field "$c" rps)")"
    done
    kill -TERM "$CEIL_PID"; wait "$CEIL_PID" 2>/dev/null || true; CEIL_PID=
    SEARCH_ROUNDS_LINE=$(printf '%s\n' "${rows[@]}" | awk "$AWK_MEDIAN"'
        { n++; r[n] = $3 / $2; list = list sep sprintf("%.2f", $3 / $2); sep = ", "; u[n] = $5; bad += $6 }
        END { printf "median %.2f of %d rounds (%s); logeerd CPU a search, median %.1f us; non-200 %d",
                     med(r, n), n, list, med(u, n), bad }')
    say "  search / ceiling within rounds: $SEARCH_ROUNDS_LINE (target >= 0.6)"
}

# BENCH_SEARCH_BASE=<rev>: rounds of ceiling, base and tree on one database, each run after 2 s
# of warm-up, the order turned every round so that a warmer or busier minute falls on every
# side alike. Both servers stay up for all rounds (sessions live in the database, so the tokens
# work on both); the one not measured is idle. The ratio that tells a change's effect is tree /
# base within a round: req/s, and CPU per search, which moves less with the machine.
search_base_rounds() {
    [ -n "${BENCH_SEARCH_BASE:-}" ] || return 0
    local n=${BENCH_SEARCH_BASE_ROUNDS:-4} secs=${BENCH_ROUND_SECONDS:-10} i side order rows=()
    BASE_REV=$BENCH_SEARCH_BASE
    build_base
    if ! diff -rq "$BASE_TREE/migrations" "$ROOT/migrations" >/dev/null; then
        say "BENCH_SEARCH_BASE: $BASE_REV has other migrations than this tree; skipped"
        return 0
    fi
    local base_port=$((PORT + 2)) base_pid
    env LOGEER_LISTEN=127.0.0.1:$base_port LOGEER_WORKERS=1 LOGEER_MFA_REQUIRED_ROLES= \
        "$BASE_LOGEERD" serve >"$WORK/logeerd-base.out" 2>"$WORK/logeerd-base.err" &
    base_pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$base_port/readyz"; do
        kill -0 "$base_pid" 2>/dev/null || { tail -n 20 "$WORK/logeerd-base.err"; say "base logeerd exited"; exit 1; }
        sleep 0.05
    done
    # One measured run of a side after 2 s of warm-up: "rps cpu_us_a_search p99_ms non200
    # answered" (answered: the 200s of both runs, for the search log's count).
    side_run() {
        local url=$1 pids=$2 script=$3 out warm t0 t1
        shift 3
        warm=$(wrk -t1 -c"$CONNS" -d2s -s "$BENCH/$script" "$url" -- "$@" 2>&1 | grep '^BENCH' | tail -n1)
        t0=$(proc_ticks $pids)
        out=$(wrk -t1 -c"$CONNS" -d"${secs}s" --latency -s "$BENCH/$script" "$url" -- "$@" 2>&1 \
            | grep '^BENCH' | tail -n1)
        t1=$(proc_ticks $pids)
        [ -n "$out" ] || { say "wrk printed no result"; exit 1; }
        awk -v t=$((t1 - t0)) -v n="$(field "$out" requests)" -v hz="$CLK_TCK" -v r="$(field "$out" rps)" \
            -v p="$(field "$out" p99_ms)" -v bad=$(( $(field "$out" requests) - $(answered "$out") )) \
            -v ok=$(( $(answered "$out") + $(answered "$warm") )) \
            'BEGIN { printf "%s %.1f %s %d %d", r, (n > 0) ? t / hz * 1e6 / n : 0, p, bad, ok }'
    }
    step "search, base ($BASE_REV) against this tree: $n rounds of ceiling, base and tree, wrk -t1 -c$CONNS -d${secs}s each after 2 s of warm-up"
    ceiling_start
    for ((i = 1; i <= n; i++)); do
        case $((i % 3)) in
            1) order="ceiling base tree" ;;
            2) order="tree ceiling base" ;;
            0) order="base tree ceiling" ;;
        esac
        [ $((i % 2)) = 1 ] || order=$(tr ' ' '\n' <<<"$order" | tac | tr '\n' ' ')
        local c= b= t=
        for side in $order; do
            case $side in
                ceiling) c=$(side_run "http://127.0.0.1:$CEIL_PORT" "$CEIL_PID" plain.lua /v1/availability) ;;
                base) b=$(side_run "http://127.0.0.1:$base_port" "$base_pid" search.lua \
                    "$WORK/tokens" "$WORK/munis" "$TODAY_NOON") ;;
                tree) t=$(side_run "$BASE_URL" "$(logeerd_pids)" search.lua \
                    "$WORK/tokens" "$WORK/munis" "$TODAY_NOON") ;;
            esac
        done
        rows+=("$i $c $b $t")
        read -r cr _ _ _ _ br bu bp bbad bok tq tu tp tbad tok <<<"$c $b $t"
        ROUND_SEARCHES=$((ROUND_SEARCHES + bok + tok))
        say "  round $i ($order): ceiling $cr req/s; base $br req/s, $bu us a search, p99 $bp ms; tree $tq req/s, $tu us, p99 $tp ms; tree / base $(ratio "$tq" "$br") req/s, $(ratio "$tu" "$bu") CPU; non-200 $bbad / $tbad"
    done
    kill -TERM "$CEIL_PID" "$base_pid"; wait "$CEIL_PID" "$base_pid" 2>/dev/null || true; CEIL_PID=
    SEARCH_BASE_LINE=$(printf '%s\n' "${rows[@]}" | awk "$AWK_MEDIAN"'
        { n++; rq[n] = $12 / $7; cpu[n] = $13 / $8; bc[n] = $7 / $2; tc[n] = $12 / $2 }
        END { printf "tree / base median %.3f req/s, %.3f CPU a search (%d rounds); search / ceiling median base %.2f, tree %.2f",
                     med(rq, n), med(cpu, n), n, med(bc, n), med(tc, n) }')
    say "  $SEARCH_BASE_LINE"
}

# The index alone (no HTTP, no JSON) at 500, 5,000 and 50,000 pools: how search time grows.
core_scaling() {
    step "availability index alone: bench_search at 500, 5,000 and 50,000 pools"
    local out
    out=$("$BENCH_SEARCH" 500 5000 50000) || { say "bench_search failed"; exit 1; }
    printf '%s\n' "$out" | sed 's/^/  /'
    CORE_SCALING=$(printf '%s\n' "$out" | awk '/^BENCH/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%s%s pools %s us", sep, f["pools"], f["mean_us"]; sep = ", " }')
}

# A few real search answers, shaped like search.lua's three kinds of query; the one of median
# size becomes the search ceiling's fixed body, so both servers send the same bytes per reply.
capture_search_body() {
    local tok m lat lon day q i size
    tok=$(awk '$1 == "caregiver" { print $2; exit }' "$WORK/tokens")
    mkdir -p "$WORK/samples"
    for i in $(seq 1 15); do
        read -r m lat lon <<<"$(awk -v n=$((i * 23 % $(wc -l <"$WORK/munis") + 1)) 'NR == n' "$WORK/munis")"
        day=$(date -u -d "@$((TODAY_NOON + (i * 37 % 600) * 86400))" +%F)
        case $((i % 3)) in
            0) q="check_in=$day&nights=$((i % 14 + 1))&municipality=$m" ;;
            1) q="check_in=$day&nights=$((i % 14 + 1))&lat=$lat&lon=$lon&radius_km=25&flex_days=1&care_profile=somatic" ;;
            2) q="check_in=$day&nights=$((i % 14 + 1))&care_profile=dementia&funding=wlz&flex_days=3" ;;
        esac
        curl -s -o "$WORK/samples/$i.json" -H "Authorization: Bearer $tok" "$BASE_URL/v1/availability?$q"
    done
    CEIL_BODY=$(for f in "$WORK"/samples/*.json; do echo "$(stat -c %s "$f") $f"; done | sort -n \
        | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }')
    CEIL_BODY_BYTES=$(stat -c %s "$CEIL_BODY")
    say "  captured 15 search responses ($(for f in "$WORK"/samples/*.json; do stat -c %s "$f"; done | sort -n | tr '\n' ' ')bytes); serving the median, $CEIL_BODY_BYTES bytes"
}

# The search ceiling: the same wrk settings against a server that does nothing but send the
# captured answer. What logeerd reaches of it is what its own work (auth, parsing, the index
# scan, JSON, the search log) costs on top of HTTP on this machine.
search_ceiling() {
    step "search ceiling: bare evhttp with a fixed search body on :$CEIL_PORT, wrk -t1 -c$CONNS -d${SECONDS_RUN}s (plain.lua)"
    capture_search_body
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$CEIL_PORT/"; then
        say "something already answers on port $CEIL_PORT; set BENCH_PORT"; exit 1
    fi
    ceiling_start
    local out t0 c0 c1 m0 m1
    c0=$(proc_ticks "$CEIL_PID"); t0=$(now)
    cpu_mark m0
    out=$(wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --latency -s "$BENCH/plain.lua" \
        "http://127.0.0.1:$CEIL_PORT" -- /v1/availability 2>&1)
    cpu_mark m1
    c1=$(proc_ticks "$CEIL_PID")
    CEIL_SEARCH_CPU=$(awk -v t="$(since "$t0")" -v c=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz / t }')
    printf '%s\n' "$out" | grep -v '^BENCH' | sed 's/^/  /'
    CEIL_SEARCH=$(printf '%s\n' "$out" | grep '^BENCH' | tail -n1)
    say "  $CEIL_SEARCH"
    [ -n "$CEIL_SEARCH" ] || { say "wrk printed no result"; exit 1; }
    say "  ceiling server cpu: $CEIL_SEARCH_CPU cores (one event loop)"
    WRK_US_LINE="search $(wrk_us "$(wrk_cores "$SEARCH_CPU")" "$SEARCH") us, ceiling $(wrk_us "$(wrk_cores "$(cpu_report "$m0" "$m1")")" "$CEIL_SEARCH") us"
    say "  wrk's own CPU a request: $WRK_US_LINE (it shares the two cores with the server)"
    say "  logeerd search / ceiling: $(ratio "$(field "$SEARCH" rps)" "$(field "$CEIL_SEARCH" rps)") (target >= 0.6)"
    say "  the same at $CONNS_HIGH connections:"
    out=$(wrk -t1 -c"$CONNS_HIGH" -d"${SECONDS_RUN}s" --latency -s "$BENCH/plain.lua" \
        "http://127.0.0.1:$CEIL_PORT" -- /v1/availability 2>&1)
    kill -TERM "$CEIL_PID"; wait "$CEIL_PID" 2>/dev/null || true; CEIL_PID=
    printf '%s\n' "$out" | grep -v '^BENCH' | sed 's/^/  /'
    CEIL_SEARCH_HIGH=$(printf '%s\n' "$out" | grep '^BENCH' | tail -n1)
    say "  $CEIL_SEARCH_HIGH"
    say "  logeerd search / ceiling at $CONNS_HIGH connections: $(ratio "$(field "$SEARCH_HIGH" rps)" "$(field "$CEIL_SEARCH_HIGH" rps)") (target >= 0.6, p99 < 5 ms)"
}

# The booking ceiling: pgbench calling logeer_book_stay with the argument the API builds, on
# random planned instant pools and dates, no idempotency key and no open-stays limit. Its
# holds stay in the database, so the overbooking and counter checks cover them too.
book_ceiling() {
    step "booking ceiling: pgbench -c16 -j2 -T15 (ceiling_book.sql), logeer_book_stay directly"
    psql_db -c "
        CREATE TABLE bench_ceiling_pools AS
            SELECT row_number() OVER (ORDER BY id)::int AS n, id, care_profiles[1]::text AS profile,
                   min_nights, lead_days
              FROM pools WHERE kind = 'planned' AND booking_mode = 'instant' AND name NOT LIKE 'Contention %';
        ALTER TABLE bench_ceiling_pools ADD PRIMARY KEY (n);
        CREATE TABLE bench_ceiling_caregivers AS
            SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM users WHERE role = 'caregiver';
        ALTER TABLE bench_ceiling_caregivers ADD PRIMARY KEY (n);
        ANALYZE bench_ceiling_pools, bench_ceiling_caregivers;"
    local npools ncare out m0 m1 pg0 pg1 b0 l0 c0 t0 b1 l1 c1 t1
    npools=$(sql_value 'SELECT count(*) FROM bench_ceiling_pools')
    ncare=$(sql_value 'SELECT count(*) FROM bench_ceiling_caregivers')
    pg0=$(pg_ticks_all)
    cpu_mark m0
    out=$(pgbench -n -c16 -j2 -T15 -f "$BENCH/ceiling_book.sql" -D npools="$npools" \
        -D ncaregivers="$ncare" "$DB_URL" 2>&1) || { printf '%s\n' "$out" | tail -n 20; exit 1; }
    # pgbench's backends come and go within the run: wait until the postmaster has reaped
    # them, so their CPU shows in its children's times instead of in "other processes".
    sleep 0.3
    cpu_mark m1
    pg1=$(pg_ticks_all)
    read -r b0 l0 _ c0 t0 <<<"$m0"; m0="$b0 $l0 $pg0 $c0 $t0"
    read -r b1 l1 _ c1 t1 <<<"$m1"; m1="$b1 $l1 $pg1 $c1 $t1"
    printf '%s\n' "$out" | grep -E '^(number of|latency|tps|initial)' | sed 's/^/  /'
    CEIL_BOOK_TPS=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9]*\.\?[0-9]\?\).* (without initial connection time)/\1/p')
    [ -n "$CEIL_BOOK_TPS" ] || { printf '%s\n' "$out" | tail -n 20; say "pgbench printed no tps"; exit 1; }
    local txns held
    txns=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    held=$(sql_value "SELECT count(*) FROM stays WHERE guest_alias = 'pgbench'")
    CEIL_BOOK_LINE="$CEIL_BOOK_TPS tps over 16 connections, $held holds from ${txns:-?} calls, latency avg $(printf '%s\n' "$out" | sed -n 's/^latency average = //p')"
    say "  holds made: $held of ${txns:-?} calls (the rest found no bed)"
    cpu_report "$m0" "$m1" | sed 's/logeerd/logeerd (idle)/; s/wrk/pgbench/'
    say "  API booking requests/s / pgbench tps: $(ratio "$(field "$BOOK" rps)" "$CEIL_BOOK_TPS") (target >= 0.5)"
    say "  API holds (201)/s / pgbench tps: $(ratio "$(per_s "$(count_of "$BOOK" 201)" "$BOOK")" "$CEIL_BOOK_TPS")"
}

# Our PostgreSQL's CPU including backends that have already exited (the postmaster's reaped
# children), for runs whose connections do not outlive them.
pg_ticks_all() {
    local pm
    pm=$(head -n1 "$(readlink -f -- "$PGDIR")/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    echo $(( $(proc_ticks "$pm" $(pgrep -P "$pm")) + $(awk '{ print $16 + $17 }' "/proc/$pm/stat" 2>/dev/null || echo 0) ))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

# One booking by hand first: the stays API must answer 201 before wrk hammers it.
stays_ready() {
    local tok pool body code
    tok=$(awk '$1 == "caregiver" { print $2; exit }' "$WORK/tokens")
    read -r pool _ <<<"$(sed -n '1p' "$WORK/pools")"
    local profile
    profile=$(awk 'NR == 1 { print $2 }' "$WORK/pools")
    body="{\"pool_id\":\"$pool\",\"check_in\":\"$(TZ=Europe/Amsterdam date -d '+60 days' +%F)\",\"check_out\":\"$(TZ=Europe/Amsterdam date -d '+62 days' +%F)\",\"funding\":\"pgb\",\"guest\":{\"alias\":\"probe\",\"birth_year\":1950,\"care_profile\":\"$profile\",\"needs\":[]}}"
    code=$(curl -s -o "$WORK/probe.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: probe-$$" -d "$body" \
        "$BASE_URL/v1/stays")
    if [ "$code" != 201 ]; then
        say "POST /v1/stays answered $code, not 201: $(head -c 400 "$WORK/probe.json")"
        return 1
    fi
    # Give the probe's bed back so it does not count against that caregiver.
    local id
    id=$(grep -o '"id": *"[^"]*"' "$WORK/probe.json" | head -n1 | cut -d'"' -f4)
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
        -d '{"reason":"probe"}' "$BASE_URL/v1/stays/$id/cancel"
}

booking() {
    step "booking: hold (POST /v1/stays) then confirm, planned instant pools: wrk -t1 -c$CONNS -d${SECONDS_RUN}s (book.lua)"
    run_wrk "$SECONDS_RUN" BOOK book.lua "$WORK/tokens" "$WORK/pools" "$TODAY_NOON" \
        "bench-$$-book" confirm "" booking
}

contention() {
    step "contention: $CONNS_CONTEND connections racing for the last 8 beds of one night (+30), hold then cancel (${SECONDS_CONTENTION}s)"
    # The booking run before wrote thousands of events; the race should not share the machine
    # with the notification pipeline still reading them.
    notify_caught_up
    WRK_CONNS=$CONNS_CONTEND run_wrk "$SECONDS_CONTENTION" CONTEND book.lua "$WORK/tokens" \
        "$WORK/contention_pools" "$TODAY_NOON" "bench-$$-contend" cancel 30:30:1 contention
    say "  outcomes: $(contend_outcomes "$CONTEND")"
    if [ -n "${BENCH_CONTENTION_WIDE:-}" ]; then
        step "contention, wide: $CONNS connections on 4 pools x 2 beds, nights +30..+32, hold then cancel (${SECONDS_CONTENTION}s)"
        run_wrk "$SECONDS_CONTENTION" CONTEND_WIDE book.lua "$WORK/tokens" \
            "$WORK/contention_wide_pools" "$TODAY_NOON" "bench-$$-wide" cancel 30:32:2 contention_wide
        say "  outcomes: $(contend_outcomes "$CONTEND_WIDE")"
    fi
}

# "201 n, 409 n, other n" (other: anything but a won hold, a lost race and the cancel's 200).
contend_outcomes() {
    local line=$1 c201 c200 c409
    c201=$(count_of "$line" 201); c200=$(count_of "$line" 200); c409=$(count_of "$line" 409)
    printf '201 %s, 409 %s (no beds %s), cancel 200 %s, other %s' "$c201" "$c409" \
        "$(count_of "$line" 409_no-beds)" "$c200" "$(( $(field "$line" requests) - c201 - c200 - c409 ))"
}

# The bare booking transaction (bare_book.sql): counters, stay row, outbox row, nothing else,
# with pgbench's settings of the booking ceiling. It is what the booking function and the API
# are measured against. It runs twice: over the schema as it is (the NOTIFY triggers on
# pool_nights and events fire, as they do for every booking), and with those two triggers
# disabled for the run, which shows what PostgreSQL's commit-time NOTIFY lock costs.
book_bare() {
    bare_run BARE "bare booking transaction, schema as is: pgbench -c16 -j2 -T$SECONDS_RUN (bare_book.sql)"
    psql_db -c 'ALTER TABLE pool_nights DISABLE TRIGGER pool_nights_notify_update;
                ALTER TABLE events DISABLE TRIGGER events_notify'
    bare_run BARE_QUIET "bare booking transaction without NOTIFY (triggers off for this run only)"
    psql_db -c 'ALTER TABLE pool_nights ENABLE TRIGGER pool_nights_notify_update;
                ALTER TABLE events ENABLE TRIGGER events_notify'
    local b201; b201=$(count_of "$BOOK" 201)
    say ""
    say "  side by side: API $(field "$BOOK" rps) req/s ($(per_s "$b201" "$BOOK") holds/s) | logeer_book_stay $CEIL_BOOK_TPS tps | bare $BARE_TPS tps | bare without NOTIFY $BARE_QUIET_TPS tps"
    say "  API requests/s / bare: $(ratio "$(field "$BOOK" rps)" "$BARE_TPS") (target >= 0.5); API holds/s / bare: $(ratio "$(per_s "$b201" "$BOOK")" "$BARE_TPS"); function / bare: $(ratio "$CEIL_BOOK_TPS" "$BARE_TPS")"
    say "  against bare without NOTIFY: API $(ratio "$(field "$BOOK" rps)" "$BARE_QUIET_TPS"), function $(ratio "$CEIL_BOOK_TPS" "$BARE_QUIET_TPS"), bare with NOTIFY $(ratio "$BARE_TPS" "$BARE_QUIET_TPS")"
}

# One pgbench run of bare_book.sql; sets ${1}_TPS, ${1}_LINE and ${1}_CPU.
bare_run() {
    local var=$1 title=$2 out m0 m1 pg0 pg1 b0 l0 c0 t0 b1 l1 c1 t1 txns held0 held tps cpu
    step "$title"
    held0=$(sql_value "SELECT count(*) FROM stays WHERE guest_alias = 'bare'")
    pg0=$(pg_ticks_all)
    cpu_mark m0
    out=$(pgbench -n -c16 -j2 -T"$SECONDS_RUN" -f "$BENCH/bare_book.sql" \
        -D npools="$(sql_value 'SELECT count(*) FROM bench_ceiling_pools')" \
        -D ncaregivers="$(sql_value 'SELECT count(*) FROM bench_ceiling_caregivers')" \
        "$DB_URL" 2>&1) || { printf '%s\n' "$out" | tail -n 20; exit 1; }
    sleep 0.3
    cpu_mark m1
    pg1=$(pg_ticks_all)
    read -r b0 l0 _ c0 t0 <<<"$m0"; m0="$b0 $l0 $pg0 $c0 $t0"
    read -r b1 l1 _ c1 t1 <<<"$m1"; m1="$b1 $l1 $pg1 $c1 $t1"
    printf '%s\n' "$out" | grep -E '^(number of|latency|tps|initial)' | sed 's/^/  /'
    tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9]*\.\?[0-9]\?\).* (without initial connection time)/\1/p')
    [ -n "$tps" ] || { printf '%s\n' "$out" | tail -n 20; say "pgbench printed no tps"; exit 1; }
    txns=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    held=$(( $(sql_value "SELECT count(*) FROM stays WHERE guest_alias = 'bare'") - held0 ))
    cpu=$(cpu_report "$m0" "$m1" | sed 's/logeerd/logeerd (idle)/; s/wrk/pgbench/; s/^ *cpu (cores of [0-9]*): //')
    say "  holds made: $held of ${txns:-?} transactions (the rest found a night full and rolled back)"
    say "  cpu: $cpu"
    printf -v "${var}_TPS" '%s' "$tps"
    printf -v "${var}_CPU" '%s' "$cpu"
    printf -v "${var}_LINE" '%s' "$tps tps over 16 connections, $held holds from ${txns:-?} transactions, latency avg $(printf '%s\n' "$out" | sed -n 's/^latency average = //p')"
}

# Every booking measurement, in the order the summaries expect.
booking_runs() {
    step "stays API probe"
    if ! stays_ready; then
        say "skipping the booking runs"
        BOOK="BENCH booking skipped"; CONTEND="BENCH contention skipped"
        return 0
    fi
    say "POST /v1/stays answers 201"
    booking
    contention
    [ -n "$BASE_REV" ] || contend_rounds 3
    # Before the pgbench runs: their holds stay open under the bench caregivers, and the API
    # would then refuse every booking with 409 (three open stays at most).
    pool_sweep
    book_ceiling
    book_bare
}

# Keeps this side's booking figures (base or after) for the compare table.
booking_record() {
    local side=$1 b201
    b201=$(count_of "$BOOK" 201)
    SIDE[$side:api]="$(field "$BOOK" rps)"
    SIDE[$side:holds]="$(per_s "$b201" "$BOOK")"
    SIDE[$side:api_p]="p50 $(field "$BOOK" p50_ms) / p99 $(field "$BOOK" p99_ms) ms"
    SIDE[$side:func]="$CEIL_BOOK_TPS"
    SIDE[$side:bare]="$BARE_TPS"
    SIDE[$side:api_bare]="$(ratio "$(field "$BOOK" rps)" "$BARE_TPS")"
    SIDE[$side:holds_bare]="$(ratio "$(per_s "$b201" "$BOOK")" "$BARE_TPS")"
    SIDE[$side:func_bare]="$(ratio "$CEIL_BOOK_TPS" "$BARE_TPS")"
    SIDE[$side:quiet]="$BARE_QUIET_TPS"
    SIDE[$side:api_quiet]="$(ratio "$(field "$BOOK" rps)" "$BARE_QUIET_TPS")"
    SIDE[$side:book_cpu]="$BOOK_CPU"
    SIDE[$side:contend]="$(field "$CONTEND" rps) req/s, p50 $(field "$CONTEND" p50_ms) / p99 $(field "$CONTEND" p99_ms) ms"
    SIDE[$side:contend_out]="$(contend_outcomes "$CONTEND")"
    SIDE[$side:contend_server]="$CONTEND_SERVER"
    SIDE[$side:integrity]="$OVERBOOKED overbooked, $MISMATCHED mismatched"
}

serve_stop() {
    [ -n "$SERVE_PID" ] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
}

# BENCH_POOL_SIZES="2 4 8 16": booking and contention at each database pool size, logeerd
# restarted for each (sessions live in the database, so the tokens stay valid).
pool_sweep() {
    [ -n "${SWEEP_SIZES-${BENCH_POOL_SIZES:-}}" ] || return 0
    local n rows=() saved_book=$BOOK saved_contend=$CONTEND saved_bs=$BOOK_SERVER saved_cs=$CONTEND_SERVER
    local saved_bc=$BOOK_CPU saved_cc=$CONTEND_CPU
    # Each size races on a night of its own (+31, +32, ...): the runs before it leave up to
    # 8 holds whose cancel wrk never sent, which fill the night they raced for. The night is
    # in the keys' tag too, so a size listed twice does not reuse the first pass's keys.
    local day=30
    for n in ${SWEEP_SIZES-$BENCH_POOL_SIZES}; do
        day=$((day + 1))
        serve_stop
        POOL_SIZE=$n serve
        step "pool size $n: booking, wrk -c$CONNS -d${SECONDS_SWEEP}s"
        run_wrk "$SECONDS_SWEEP" BOOK book.lua "$WORK/tokens" "$WORK/pools" "$TODAY_NOON" \
            "bench-$$-sweep$day-$n" confirm "" booking
        step "pool size $n: contention, wrk -c$CONNS_CONTEND -d${SECONDS_SWEEP}s on the last 8 beds of day +$day"
        WRK_CONNS=$CONNS_CONTEND run_wrk "$SECONDS_SWEEP" CONTEND book.lua "$WORK/tokens" \
            "$WORK/contention_pools" "$TODAY_NOON" "bench-$$-sweepc$day-$n" cancel "$day:$day:1" contention
        rows+=("$(printf '%-6s %-10s %-22s %-10s %-22s %s' "$n" "$(field "$BOOK" rps)" \
            "$(field "$BOOK" p50_ms) / $(field "$BOOK" p99_ms)" "$(field "$CONTEND" rps)" \
            "$(field "$CONTEND" p50_ms) / $(field "$CONTEND" p99_ms)" "$(contend_outcomes "$CONTEND")")")
    done
    serve_stop
    serve
    BOOK=$saved_book CONTEND=$saved_contend BOOK_SERVER=$saved_bs CONTEND_SERVER=$saved_cs
    BOOK_CPU=$saved_bc CONTEND_CPU=$saved_cc
    POOL_SWEEP=$(printf '%-6s %-10s %-22s %-10s %-22s %s\n' size "book r/s" "p50 / p99 ms" \
        "race r/s" "race p50 / p99 ms" "race outcomes"; printf '%s\n' "${rows[@]}")
    step "pool size sweep"
    printf '%s\n' "$POOL_SWEEP" | sed 's/^/  /'
}

checks() {
    step "overbooking and counter checks"
    # wrk has stopped, but the last transactions may still be committing.
    sleep 1
    OVERBOOKED=$(sql_value 'SELECT count(*) FROM pool_nights WHERE held + booked > capacity')
    say "nights with held + booked > capacity: $OVERBOOKED"
    # Recount held and booked per night from the stays themselves (the rule of migration
    # 0005: held and requested hold a bed, confirmed, checked_in and completed book one) and
    # compare with the counters, in both directions.
    MISMATCHED=$(sql_value "
        WITH used AS (
            SELECT s.pool_id, d::date AS night,
                   count(*) FILTER (WHERE s.status IN ('held', 'requested')) AS held,
                   count(*) FILTER (WHERE s.status IN ('confirmed', 'checked_in', 'completed')) AS booked
              FROM stays s, generate_series(s.check_in, s.check_out - 1, interval '1 day') AS d
             WHERE s.pool_id IS NOT NULL
               AND s.status IN ('held', 'requested', 'confirmed', 'checked_in', 'completed')
             GROUP BY 1, 2),
        counted AS (SELECT pool_id, night, held, booked FROM pool_nights WHERE held > 0 OR booked > 0)
        SELECT count(*) FROM counted c FULL JOIN used u USING (pool_id, night)
         WHERE coalesce(c.held, 0) <> coalesce(u.held, 0) OR coalesce(c.booked, 0) <> coalesce(u.booked, 0)")
    say "nights whose counters differ from a recount of the stays: $MISMATCHED"
    say "counters: $(sql_value "SELECT format('held %s, booked %s bed-nights over %s nights',
        sum(held), sum(booked), count(*)) FROM pool_nights WHERE held > 0 OR booked > 0")"
    say "stays by status: $(sql_value "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status)
        FROM (SELECT status::text, count(*) AS n FROM stays GROUP BY 1) x")"
    say "contention pools, fullest night: $(sql_value "SELECT format('held + booked %s of capacity %s',
        max(held + booked), max(capacity)) FROM pool_nights n JOIN pools p ON p.id = n.pool_id
        WHERE p.name LIKE 'Contention %'")"
    # Every search is counted for the unmet-demand report (identical ones per minute in one
    # row), fire and forget through the same database queue as everything else: how many of
    # the answered searches made it, and in how many rows.
    sleep 2.5   # one flush of the search counts
    # A base revision (BENCH_BASE) from before the counts still writes one row per search.
    if [ "$(sql_value "SELECT to_regclass('search_counts') IS NOT NULL")" = t ]; then
        SEARCH_LOGGED=$(sql_value 'SELECT coalesce(sum(searches), 0) FROM search_counts')
        SEARCH_LOG_ROWS=$(sql_value 'SELECT count(*) FROM search_counts')
    else
        SEARCH_LOGGED=$(sql_value 'SELECT count(*) FROM searches')
        SEARCH_LOG_ROWS=$SEARCH_LOGGED
    fi
    DB_ERRORS=$(curl -s "$BASE_URL/metrics" | awk '/^logeer_db_errors_total/ { n += $2 } END { print n }')
    say "search log: $SEARCH_LOGGED searches counted in $SEARCH_LOG_ROWS rows for $(searches_answered) searches answered; logeer_db_errors_total ${DB_ERRORS:-?}"
    RSS_END=$(rss_mib)
    say "logeerd VmRSS after the runs: $RSS_END MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
    if grep -q '"level":"error"' "$WORK/logeerd.err"; then
        say "logeerd logged errors (first 5):"
        grep '"level":"error"' "$WORK/logeerd.err" | head -n 5 | sed 's/^/  /'
    fi
}

# Counts of one status from a BENCH line, summed over problem types: count "$line" 409.
count_of() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^count\[$2[^]]*\]=//p" | awk '{ s += $1 } END { print s + 0 }'; }
# wrk's cores from a cpu line ("... wrk 0.94, ..."); its CPU a request in microseconds from
# those cores and a BENCH line.
wrk_cores() { printf '%s' "$1" | sed -n 's/.*wrk \([0-9.]*\),.*/\1/p'; }
wrk_us() { awk -v c="$1" -v r="$(field "$2" rps)" 'BEGIN { printf "%.1f", (r > 0) ? c / r * 1e6 : 0 }'; }
# Requests answered 200 (counted by a script that reads the answers) or below 400 (count[ok],
# wrk's own count, when it does not: search.lua outside its check, whose answers are all 200).
answered() { echo $(( $(count_of "$1" 200) + $(count_of "$1" ok) )); }
# awk's med(v, n): the median of v[1..n] (sorts v in place), for the rounds' summaries.
AWK_MEDIAN='function med(v, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
    if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
'

# Every search answered 200 in this run: the measured runs, the rounds and their warm-ups.
searches_answered() {
    echo $(( $(answered "$SEARCH") + $(answered "$SEARCH_HIGH") + $(answered "${SEARCH_AB:-}") + $(answered "${SEARCH_CHECK:-}") + ROUND_SEARCHES ))
}
per_s() { awk -v n="$1" -v s="$(field "$2" seconds)" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'; }

summary() {
    step "summary"
    local b201 b200
    b201=$(count_of "$BOOK" 201); b200=$(count_of "$BOOK" 200)
    {
        printf '%-34s %s\n' "what" "figure"
        printf '%-34s %s\n' "data set load (national.sql)" "${LOAD_S} s, ${NIGHT_ROWS} pool_nights rows"
        printf '%-34s %s\n' "index load to /readyz" "${READY_S} s, VmRSS ${RSS_READY} MiB (after runs ${RSS_END} MiB)"
        printf '%-34s %s\n' "logins" "${LOGIN_N} in ${LOGIN_S} s"
        printf '%-34s %s\n' "HTTP floor (GET /livez)" "$(field "$FLOOR" rps) req/s, p50 $(field "$FLOOR" p50_ms) ms, p99 $(field "$FLOOR" p99_ms) ms"
        printf '%-34s %s\n' "search" "$(field "$SEARCH" rps) req/s, p50 $(field "$SEARCH" p50_ms) ms, p99 $(field "$SEARCH" p99_ms) ms, non-200 $(( $(field "$SEARCH" requests) - $(answered "$SEARCH") ))"
        printf '%-34s %s\n' "  answers read (3 s)" "${SEARCH_CHECK_LINE:-none}"
        printf '%-34s %s\n' "  server-side latency" "$SEARCH_SERVER"
        printf '%-34s %s\n' "  cpu during search (cores)" "$SEARCH_CPU"
        printf '%-34s %s\n' "search ceiling (bare evhttp)" "$(field "$CEIL_SEARCH" rps) req/s, p50 $(field "$CEIL_SEARCH" p50_ms) ms, p99 $(field "$CEIL_SEARCH" p99_ms) ms, body ${CEIL_BODY_BYTES} bytes, cpu ${CEIL_SEARCH_CPU} cores"
        printf '%-34s %s\n' "  search / ceiling" "$(ratio "$(field "$SEARCH" rps)" "$(field "$CEIL_SEARCH" rps)") (target >= 0.6)"
        printf '%-34s %s\n' "  wrk's CPU a request" "${WRK_US_LINE:-}"
        [ -z "${SEARCH_ROUNDS_LINE:-}" ] || printf '%-34s %s\n' "  search / ceiling, rounds" "$SEARCH_ROUNDS_LINE"
        [ -z "${SEARCH_BASE_LINE:-}" ] || printf '%-34s %s\n' "  search, base $BENCH_SEARCH_BASE" "$SEARCH_BASE_LINE"
        printf '%-34s %s\n' "search, $CONNS_HIGH connections" "$(field "$SEARCH_HIGH" rps) req/s, p50 $(field "$SEARCH_HIGH" p50_ms) ms, p99 $(field "$SEARCH_HIGH" p99_ms) ms (target p99 < 5 ms), non-200 $(( $(field "$SEARCH_HIGH" requests) - $(answered "$SEARCH_HIGH") ))"
        printf '%-34s %s\n' "  server-side latency" "$SEARCH_HIGH_SERVER"
        printf '%-34s %s\n' "  cpu (cores)" "$SEARCH_HIGH_CPU"
        printf '%-34s %s\n' "  ceiling at $CONNS_HIGH connections" "$(field "$CEIL_SEARCH_HIGH" rps) req/s, p99 $(field "$CEIL_SEARCH_HIGH" p99_ms) ms; search / ceiling $(ratio "$(field "$SEARCH_HIGH" rps)" "$(field "$CEIL_SEARCH_HIGH" rps)")"
        printf '%-34s %s\n' "index alone, mean per search" "$CORE_SCALING"
        printf '%-34s %s\n' "  search log rows written" "$SEARCH_LOGGED of $(searches_answered) in $SEARCH_LOG_ROWS rows (db errors ${DB_ERRORS:-?})"
        printf '%-34s %s\n' "booking (hold + confirm) requests" "$(field "$BOOK" rps) req/s, p50 $(field "$BOOK" p50_ms) ms, p99 $(field "$BOOK" p99_ms) ms"
        printf '%-34s %s\n' "booking outcomes" "201 $b201 ($(per_s "$b201" "$BOOK")/s), confirm 200 $b200 ($(per_s "$b200" "$BOOK")/s), 409 $(count_of "$BOOK" 409), other $(( $(field "$BOOK" requests) - b201 - b200 - $(count_of "$BOOK" 409) ))"
        printf '%-34s %s\n' "  server-side latency" "$BOOK_SERVER"
        printf '%-34s %s\n' "  cpu during booking (cores)" "$BOOK_CPU"
        printf '%-34s %s\n' "logeer_book_stay (pgbench)" "$CEIL_BOOK_LINE"
        printf '%-34s %s\n' "bare transaction (pgbench)" "$BARE_LINE"
        printf '%-34s %s\n' "  the same without NOTIFY" "$BARE_QUIET_LINE"
        printf '%-34s %s\n' "  API | function | bare" "$(field "$BOOK" rps) req/s ($(per_s "$b201" "$BOOK") holds/s) | $CEIL_BOOK_TPS tps | $BARE_TPS tps"
        printf '%-34s %s\n' "  API / bare" "$(ratio "$(field "$BOOK" rps)" "$BARE_TPS") (target >= 0.5); holds/s / bare $(ratio "$(per_s "$b201" "$BOOK")" "$BARE_TPS")"
        printf '%-34s %s\n' "  function / bare" "$(ratio "$CEIL_BOOK_TPS" "$BARE_TPS")"
        printf '%-34s %s\n' "  bare with / without NOTIFY" "$(ratio "$BARE_TPS" "$BARE_QUIET_TPS") (the commit-time NOTIFY lock)"
        printf '%-34s %s\n' "  API / function" "$(ratio "$(field "$BOOK" rps)" "$CEIL_BOOK_TPS")"
        printf '%-34s %s\n' "contention, $CONNS_CONTEND on last 8 beds" "$(field "$CONTEND" rps) req/s, p50 $(field "$CONTEND" p50_ms) ms, p99 $(field "$CONTEND" p99_ms) ms (target p99 < 50 ms)"
        printf '%-34s %s\n' "contention outcomes" "$(contend_outcomes "$CONTEND")"
        [ -z "${CONTEND_ROUNDS_LINE:-}" ] || printf '%-34s %s\n' "  contention, rounds" "$CONTEND_ROUNDS_LINE"
        printf '%-34s %s\n' "  server-side latency" "$CONTEND_SERVER"
        printf '%-34s %s\n' "  cpu during contention (cores)" "$CONTEND_CPU"
        if [ -n "${BENCH_CONTENTION_WIDE:-}" ]; then
            printf '%-34s %s\n' "contention, wide ($CONNS on 4 x 2)" "$(field "$CONTEND_WIDE" rps) req/s, p50 $(field "$CONTEND_WIDE" p50_ms) ms, p99 $(field "$CONTEND_WIDE" p99_ms) ms; $(contend_outcomes "$CONTEND_WIDE")"
        fi
        [ -z "${POOL_SWEEP:-}" ] || printf '%s\n' "pool size sweep:" "$POOL_SWEEP" | sed '2,$s/^/  /'
        printf '%-34s %s\n' "overbooked nights" "$OVERBOOKED (must be 0)"
        printf '%-34s %s\n' "counter/stays mismatches" "$MISMATCHED (must be 0)"
    } | sed 's/^/  /'
    [ -z "${SEARCH_AB_LINE:-}" ] || printf '  %-34s %s\n' "search, BENCH_WORKERS_AB" "$SEARCH_AB_LINE"
    say ""
    say "report saved in $REPORT"
    [ "$OVERBOOKED" = 0 ] && [ "$MISMATCHED" = 0 ] || { say "INTEGRITY CHECK FAILED"; exit 3; }
}

# ---------------------------------------------------------------------------------------------
# Compare mode (BENCH_BASE=<rev>): the booking measurements of that revision and of this tree,
# back to back on the same data.
# ---------------------------------------------------------------------------------------------

build_base() {
    step "build (Release) of $BASE_REV in a temporary tree"
    local t0; t0=$(now)
    BASE_TREE=$WORK/base
    mkdir -p "$BASE_TREE"
    git -C "$ROOT" archive --format=tar "$BASE_REV" | tar -x -C "$BASE_TREE"
    cmake -S "$BASE_TREE" -B "$BASE_TREE/build" -DCMAKE_BUILD_TYPE=Release -DLOGEER_TESTS=OFF >/dev/null
    cmake --build "$BASE_TREE/build" -j"$(nproc)" --target logeerd >"$WORK/build-base.log" 2>&1 \
        || { tail -n 40 "$WORK/build-base.log"; exit 1; }
    BASE_LOGEERD=$BASE_TREE/build/logeerd
    say "built $BASE_REV ($(git -C "$ROOT" rev-parse --short "$BASE_REV")) in $(since "$t0") s"
}

# The data set is loaded once, into a database migrated by the base revision; the after side
# is a copy of it migrated further by this tree (the upgrade path), so both sides book on the
# same pools, nights and accounts.
database_compare() {
    step "PostgreSQL, base migrations, national data set, copy migrated by this tree"
    "$ROOT/deploy/pg.sh" start "$PGDIR" >/dev/null 2>"$WORK/pg.err" || { cat "$WORK/pg.err"; exit 1; }
    pg_statements_enable
    pg_settings_apply
    local admin; admin=$("$ROOT/deploy/pg.sh" url "$PGDIR" postgres)
    psql -X -q -d "$admin" -c 'CREATE DATABASE logeer_base'
    BASE_DB_URL=$("$ROOT/deploy/pg.sh" url "$PGDIR" logeer_base)
    AFTER_DB_URL=$("$ROOT/deploy/pg.sh" url "$PGDIR" logeer_bench)
    LOGEER_DATABASE_URL=$BASE_DB_URL LOGEER_MIGRATIONS_DIR=$BASE_TREE/migrations "$BASE_LOGEERD" migrate \
        >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
    printf '%s\n' "$PASSWORD" | LOGEER_DATABASE_URL=$BASE_DB_URL "$BASE_LOGEERD" user add \
        --email coordinator@bench.logeer.nl --role coordinator >/dev/null
    local t0; t0=$(now)
    psql -X -q -v ON_ERROR_STOP=1 -d "$BASE_DB_URL" -f "$BENCH/national.sql"
    LOAD_S=$(since "$t0")
    psql -X -q -d "$admin" -c 'CREATE DATABASE logeer_bench TEMPLATE logeer_base'
    LOGEER_DATABASE_URL=$AFTER_DB_URL LOGEER_MIGRATIONS_DIR=$ROOT/migrations "$LOGEERD" migrate \
        >>"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
    settle_after_load "$BASE_DB_URL" "$AFTER_DB_URL"
    say "loaded in ${LOAD_S} s; schema version base $(psql -X -qAt -d "$BASE_DB_URL" -c 'SELECT max(version) FROM schema_migrations'), after $(psql -X -qAt -d "$AFTER_DB_URL" -c 'SELECT max(version) FROM schema_migrations')"
}

compare_use() {
    if [ "$1" = base ]; then
        LOGEERD=$BASE_LOGEERD DB_URL=$BASE_DB_URL
    else
        LOGEERD=$AFTER_LOGEERD DB_URL=$AFTER_DB_URL
    fi
    export LOGEER_DATABASE_URL=$DB_URL
}

compare_side() {
    local side=$1
    compare_use "$side"
    step "---- $side: $LOGEERD on $(sed 's/.*dbname=\([^ ]*\).*/\1/' <<<"$DB_URL")"
    serve
    login_all
    cp "$WORK/tokens" "$WORK/tokens.$side"
    inputs
    # The pool size sweep says what to choose for this tree; the base side does without it.
    if [ "$side" = base ]; then SWEEP_SIZES= booking_runs; else booking_runs; fi
    checks
    booking_record "$side"
    serve_stop
}

compare_summary() {
    step "summary: before ($BASE_REV) | after (this tree), one run, same data"
    local k label
    {
        printf '%-34s | %-44s | %s\n' "what" "before" "after"
        for k in "api:API booking requests/s" "holds:API holds (201)/s" "api_p:API booking latency" \
                 "func:logeer_book_stay tps (pgbench)" "bare:bare transaction tps (pgbench)" \
                 "api_bare:API / bare (target >= 0.5)" "holds_bare:API holds / bare" \
                 "func_bare:function / bare" "quiet:bare without NOTIFY tps" \
                 "api_quiet:API / bare without NOTIFY" "book_cpu:cpu during API booking" \
                 "contend:contention ($CONNS_CONTEND on 8 beds)" "contend_out:contention outcomes" \
                 "contend_server:contention, server side" "integrity:integrity (must be 0, 0)"; do
            label=${k#*:}; k=${k%%:*}
            printf '%-34s | %-44s | %s\n' "$label" "${SIDE[base:$k]:--}" "${SIDE[after:$k]:--}"
        done
    } | sed 's/^/  /'
    say ""
    say "report saved in $REPORT"
    [[ "${SIDE[base:integrity]}${SIDE[after:integrity]}" == "0 overbooked, 0 mismatched0 overbooked, 0 mismatched" ]] \
        || { say "INTEGRITY CHECK FAILED"; exit 3; }
}

# BENCH_CONTEND_ROUNDS=N: N more contention runs per side, in pairs whose order alternates
# (base then after, after then base, ...) in compare mode (each side's logeerd started for its
# round), this tree's logeerd alone otherwise, each on a night of its own (+40, +41, ...), then
# every round's figures and each side's median. One run moves by several percent from run to
# run, and its p99 by more; the alternation puts both sides under the same drift, and neither
# side is always the one that runs right after the other's writes.
# Waits (at most 180 s) until the notification pipeline has read every event: sweeping the
# pgbench runs' lapsed holds writes tens of thousands of stay.expired events at once, and a
# round that starts while logeerd still works through them measures that backlog too. Says
# how long it waited; a schema without the pipeline (an old BENCH_BASE) waits for nothing.
# The cursor stands at a position in (txid, id) order, the order events become visible in: the
# highest id is not always the last event in that order (a transaction that got its id first
# may write its event last), so "behind" counts the events after the cursor's position.
notify_caught_up() {
    local t0 behind after; t0=$(now)
    [ "$(sql_value "SELECT to_regclass('notify_cursor') IS NOT NULL")" = t ] || return 0
    if [ "$(sql_value "SELECT count(*) FROM information_schema.columns
                        WHERE table_name = 'notify_cursor' AND column_name = 'txid'")" = 1 ]; then
        after="SELECT count(*) FROM events e, notify_cursor c
                WHERE (e.txid, e.id) > (c.txid, c.event_id)"
    else
        after="SELECT coalesce((SELECT max(id) FROM events), 0)
                    - coalesce((SELECT max(event_id) FROM notify_cursor), 0)"
    fi
    for _ in $(seq 360); do
        behind=$(sql_value "$after")
        [ "$behind" -gt 0 ] || { say "  notifications caught up with the events after $(since "$t0") s"; return 0; }
        sleep 0.5
    done
    say "  notifications still $behind events behind after $(since "$t0") s; the round runs anyway"
}

# A round's logeerd has just started: its database sessions are new, and each compiles the
# PL/pgSQL functions and plans their statements on first use. BENCH_WARM_UP seconds (3; 0 for
# none) of the same race on a night of its own first, not measured, so that a round measures
# the race and not the first requests of four new sessions.
warm_up() {
    local seconds=${BENCH_WARM_UP:-3}
    [ "$seconds" -gt 0 ] || return 0
    wrk -t1 -c"$CONNS_CONTEND" -d"${seconds}s" -s "$BENCH/book.lua" "$BASE_URL" -- "$WORK/tokens" \
        "$WORK/contention_pools" "$TODAY_NOON" "bench-$$-warm$1$RANDOM" cancel "$1:$1:1" warm-up \
        >/dev/null 2>&1 || true
    say "  warmed up: ${seconds} s of the same race on day +$1, not measured"
}

contend_rounds() {
    local n=${BENCH_CONTEND_ROUNDS:-$1} i side day rows=() sides="base after" order
    [ "$n" -gt 0 ] || return 0
    [ -n "$BASE_REV" ] || sides=tree
    for ((i = 0; i < n; i++)); do
        # Odd pairs run the after side first.
        order=$sides
        [ -z "$BASE_REV" ] || [ $((i % 2)) = 0 ] || order="after base"
        for side in $order; do
            day=$((40 + i))
            [ "$side" = tree ] || compare_use "$side"
            step "contention round $((i + 1)) of $n, $side: wrk -c$CONNS_CONTEND -d${SECONDS_CONTENTION}s on the last 8 beds of day +$day"
            # The runs before leave holds (wrk stops between a hold and its cancel; the pgbench
            # ceilings hold for the same caregivers): lapse and sweep them, or the caregivers
            # meet their three-open-stays limit and the round measures 409s.
            psql_db -c "UPDATE stays SET hold_expires_at = now() - interval '1 second' WHERE status = 'held'" \
                -c "SELECT logeer_expire_holds('{\"limit\": 100000}')" >/dev/null
            if [ "$side" != tree ]; then
                serve
                cp "$WORK/tokens.$side" "$WORK/tokens" # sessions live in the database
                inputs
            fi
            notify_caught_up
            warm_up "$((50 + i))"
            WRK_CONNS=$CONNS_CONTEND run_wrk "$SECONDS_CONTENTION" CONTEND_ROUND book.lua "$WORK/tokens" \
                "$WORK/contention_pools" "$TODAY_NOON" "bench-$$-round$i$side" cancel "$day:$day:1" contention
            say "  outcomes: $(contend_outcomes "$CONTEND_ROUND")"
            rows+=("$side $(field "$CONTEND_ROUND" rps) $(field "$CONTEND_ROUND" p50_ms) $(field "$CONTEND_ROUND" p99_ms) $(field "$CONTEND_ROUND" 'count\[201\]') $(( $(field "$CONTEND_ROUND" requests) - $(count_of "$CONTEND_ROUND" 201) - $(count_of "$CONTEND_ROUND" 200) - $(count_of "$CONTEND_ROUND" 409) ))")
            [ "$side" = tree ] || serve_stop
        done
    done
    # Holds won say how much of the race was real work: a side whose cancels come back sooner
    # wins more holds, and each win costs two lock-taking transactions where a refusal costs a
    # read, so req/s and p50 alone can mislead.
    step "contention rounds: req/s, p50 ms, p99 ms, holds won (201) per round; median per side"
    printf '%s\n' "${rows[@]}" | awk '{ printf "  %-6s %8.1f req/s  p50 %7.2f  p99 %7.2f  holds %5d  other %d\n", $1, $2, $3, $4, $5, $6 }'
    for side in $sides; do
        CONTEND_ROUNDS_LINE=$(printf '%s\n' "${rows[@]}" | awk -v s="$side" "$AWK_MEDIAN"'$1 == s { r[++n] = $2; a[n] = $3; b[n] = $4; list = list sep $4; sep = ", "; bad += $6 }
            END { printf "median %.1f req/s, p50 %.2f ms, p99 %.2f ms of %d rounds (p99 %s ms); other than 201/200/409: %d", med(r, n), med(a, n), med(b, n), n, list, bad }')
        say "  $side: $CONTEND_ROUNDS_LINE"
    done
}

compare_main() {
    local t0; t0=$(now)
    SEARCH="BENCH skipped"
    machine
    build
    AFTER_LOGEERD=$LOGEERD
    build_base
    database_compare
    compare_side base
    compare_side after
    compare_summary
    contend_rounds 0
    say "whole run: $(since "$t0") s"
}

main() {
    local t0; t0=$(now)
    machine
    build
    database
    serve
    login_all
    inputs
    core_scaling
    floor
    search
    search_ceiling
    search_rounds
    search_base_rounds
    search_workers_ab
    if [ -n "${BENCH_SEARCH_ONLY:-}" ]; then
        say "BENCH_SEARCH_ONLY is set: skipping the booking runs"
        BOOK="BENCH booking skipped"; CONTEND="BENCH contention skipped"
    else
        booking_runs
    fi
    checks
    summary
    say "whole run: $(since "$t0") s"
}

if [ -n "$BASE_REV" ]; then compare_main "$@"; else main "$@"; fi
