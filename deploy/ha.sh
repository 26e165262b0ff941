#!/usr/bin/env bash
# ha.sh: a pg_auto_failover formation on this one machine, for tests and demos: a monitor, a
# primary and a synchronous standby on loopback ports, each run by its own pg_autoctl keeper.
# It never touches the machine's own clusters and keeps everything (data, settings, logs) in
# DIR. docs/operations.md ("High availability") describes the same layout on three hosts.
#
# Usage:
#   ha.sh up DIR [MONITOR_PORT NODE1_PORT NODE2_PORT]   start (free loopback ports unless given);
#                                    last line: the multi-host conninfo for logeerd
#   ha.sh kill-primary DIR           SIGKILL the current primary's postmaster; prints its name
#   ha.sh status DIR                 the monitor's view of the formation, plus who is primary
#   ha.sh primary DIR                the name of the node that accepts writes now (node1/node2)
#   ha.sh url DIR                    the multi-host conninfo again
#   ha.sh down DIR                   stop every process of the formation and remove DIR
#
# PostgreSQL refuses to run as root: run as root, the script runs pg_autoctl and the servers as
# the `postgres` system user (as deploy/pg.sh does). Run as another user, that user needs to be
# able to create sockets in /var/run/postgresql (the postgres user, or a member of its group).
# Settings: the database logeer with the superuser logeer, trusted on 127.0.0.1 only (--auth
# trust --no-ssl: fine for loopback tests and demos, never for real hosts).
set -euo pipefail

PROG=ha.sh
DBNAME=logeer
APPUSER=logeer
NODES=(node1 node2)
# How long `up` waits for each step (seconds). A node's first start includes initdb, and the
# standby's a base backup; on a loaded two-core machine that can take a minute.
WAIT_S=${HA_WAIT_S:-180}

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

bindir() {
    local best d
    best=$(for d in /usr/lib/postgresql/*/bin; do
               [ -x "$d/pg_ctl" ] && echo "$d"
           done | sort -t/ -k4,4n | tail -n 1)
    [ -n "$best" ] || die "no PostgreSQL server found (run deploy/install-deps.sh)"
    echo "$best"
}

abs_path() {
    case $1 in
        /*) realpath -m -s -- "$1" ;;
        *) realpath -m -s -- "$PWD/$1" ;;
    esac
}

# DIR itself, or the /tmp directory it links to (see resolve_new).
real_dir() {
    local dir
    dir=$(abs_path "$1")
    if [ -L "$dir" ]; then
        readlink -f -- "$dir"
    else
        echo "$dir"
    fi
}

# Every pg_autoctl call of one formation sees the same environment: its configuration and
# state files live under DIR, not in the owner's home, so formations never mix.
as_owner() {
    local real=$1
    shift
    local env=(env "PATH=$(bindir):/usr/bin:/bin" "XDG_CONFIG_HOME=$real/xdg/config"
               "XDG_DATA_HOME=$real/xdg/data" "PG_CONFIG=$(bindir)/pg_config")
    if is_root; then
        (cd / && runuser -u postgres -- "${env[@]}" "$@")
    else
        (cd / && "${env[@]}" "$@")
    fi
}

# Makes DIR for a new formation. As root, the postgres user must be able to reach it; when a
# parent is private (mktemp -d) the formation lives in /tmp/logeer-ha-<hash> and DIR links there.
resolve_new() {
    local dir real
    dir=$(abs_path "$1")
    if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir" 2>/dev/null)" ]; then
        die "$dir is not empty; run 'ha.sh down $1' first"
    fi
    mkdir -p -- "$dir"
    real=$dir
    if is_root && ! (cd / && runuser -u postgres -- test -x "$dir") 2>/dev/null; then
        real="/tmp/logeer-ha-$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
        [ ! -e "$real" ] || die "$real already exists; remove it"
        mkdir -m 700 -- "$real"
        rmdir -- "$dir"
        ln -s -- "$real" "$dir"
    fi
    chmod 700 -- "$real"
    if is_root; then
        chown postgres:postgres -- "$real"
    fi
    echo "$real"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port_of() {
    local real=$1 name=$2
    case $name in
        monitor) sed -n 1p "$real/ports" ;;
        node1) sed -n 2p "$real/ports" ;;
        node2) sed -n 3p "$real/ports" ;;
    esac
}

monitor_uri() {
    printf 'postgres://autoctl_node@127.0.0.1:%s/pg_auto_failover?sslmode=disable' \
        "$(port_of "$1" monitor)"
}

conninfo() {
    local real=$1
    printf 'host=127.0.0.1,127.0.0.1 port=%s,%s dbname=%s user=%s target_session_attrs=read-write connect_timeout=2\n' \
        "$(port_of "$real" node1)" "$(port_of "$real" node2)" "$DBNAME" "$APPUSER"
}

# psql as the owner against one server of the formation; prints unaligned tuples.
sql_at() {
    local real=$1 port=$2 db=$3 sql=$4
    as_owner "$real" psql -X -q -At -p "$port" -d "$db" -c "$sql" 2>/dev/null
}

# Starts `pg_autoctl ... --run` (or `run`) in a session of its own, so `down` can end the keeper
# and every process it started (postgres among them) with one signal to the group.
start_keeper() {
    local real=$1 name=$2
    shift 2
    if is_root; then
        setsid runuser -u postgres -- env "PATH=$(bindir):/usr/bin:/bin" \
            "XDG_CONFIG_HOME=$real/xdg/config" "XDG_DATA_HOME=$real/xdg/data" \
            "PG_CONFIG=$(bindir)/pg_config" "$@" >>"$real/$name.log" 2>&1 </dev/null &
    else
        setsid env "PATH=$(bindir):/usr/bin:/bin" "XDG_CONFIG_HOME=$real/xdg/config" \
            "XDG_DATA_HOME=$real/xdg/data" "PG_CONFIG=$(bindir)/pg_config" "$@" \
            >>"$real/$name.log" 2>&1 </dev/null &
    fi
    echo $! >"$real/$name.pid"
}

# Waits until cmd (a shell function and its arguments) succeeds, or dies after WAIT_S seconds.
wait_for() {
    local what=$1 real=$2
    shift 2
    local deadline=$((SECONDS + WAIT_S))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            note "gave up waiting for $what; the last lines of the logs follow"
            local f
            for f in "$real"/*.log; do
                echo "== $f" >&2
                tail -n 15 "$f" >&2 || true
            done
            die "$what did not happen within ${WAIT_S} s"
        fi
        sleep 0.5
    done
}

monitor_ready() { [ "$(sql_at "$1" "$(port_of "$1" monitor)" pg_auto_failover 'SELECT 1')" = 1 ]; }

# The monitor's reported state of a node (single, primary, secondary, ...), or nothing.
node_state() {
    sql_at "$1" "$(port_of "$1" monitor)" pg_auto_failover \
        "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$2'"
}

node_is() { [ "$(node_state "$1" "$2")" = "$3" ]; }

# The node whose server accepts writes now: asked of the servers, not of the monitor, because
# that is what logeerd will find.
primary_name() {
    local real=$1 n
    for n in "${NODES[@]}"; do
        if [ "$(sql_at "$real" "$(port_of "$real" "$n")" postgres 'SELECT pg_is_in_recovery()')" = f ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

# A commit is acknowledged only once the standby has it: synchronous_standby_names is set on
# the primary and a standby streams with sync (or quorum) state.
sync_standby_streaming() {
    local real=$1 p port
    p=$(primary_name "$real") || return 1
    port=$(port_of "$real" "$p")
    [ -n "$(sql_at "$real" "$port" postgres 'SHOW synchronous_standby_names')" ] || return 1
    [ "$(sql_at "$real" "$port" postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')")" -ge 1 ]
}

# The monitor decides fast on a test machine: the defaults (5 s checks, 20 s before a node is
# unhealthy, 30 s demote timeout) would put a failover well beyond our 15 s budget.
tune_monitor() {
    local real=$1 port setting
    port=$(port_of "$real" monitor)
    for setting in health_check_period=1000 health_check_timeout=1000 \
            health_check_max_retries=1 health_check_retry_delay=500 \
            node_considered_unhealthy_timeout=2000 primary_demote_timeout=3000; do
        sql_at "$real" "$port" pg_auto_failover \
            "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null \
            || die "could not set pgautofailover.$setting on the monitor"
    done
    sql_at "$real" "$port" pg_auto_failover 'SELECT pg_reload_conf()' >/dev/null
}

# A standby whose primary restarts (its keeper restarts a killed postmaster in place) tries
# the stream again only after wal_retrieve_retry_interval, 5 s by default; until then the
# primary cannot acknowledge a commit. One second is the same trade as the monitor's settings.
tune_node() {
    local real=$1 name=$2 port
    port=$(port_of "$real" "$name")
    sql_at "$real" "$port" postgres "ALTER SYSTEM SET wal_retrieve_retry_interval = '1s'" \
        >/dev/null || die "could not set wal_retrieve_retry_interval on $name"
    sql_at "$real" "$port" postgres 'SELECT pg_reload_conf()' >/dev/null
}

create_node() {
    local real=$1 name=$2
    start_keeper "$real" "$name" pg_autoctl create postgres --pgdata "$real/$name" \
        --pgctl "$(bindir)/pg_ctl" --pgport "$(port_of "$real" "$name")" \
        --hostname 127.0.0.1 --listen 127.0.0.1 --name "$name" --dbname "$DBNAME" --auth trust --no-ssl \
        --monitor "$(monitor_uri "$real")" --run
}

cmd_up() {
    local dir=$1 real
    shift
    real=$(resolve_new "$dir")
    local pm=${1:-} p1=${2:-} p2=${3:-}
    [ -n "$pm" ] || pm=$(free_port)
    [ -n "$p1" ] || p1=$(free_port)
    [ -n "$p2" ] || p2=$(free_port)
    local p
    for p in "$pm" "$p1" "$p2"; do
        [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "bad port: $p"
    done
    printf '%s\n%s\n%s\n' "$pm" "$p1" "$p2" >"$real/ports"
    if is_root; then
        chown postgres:postgres -- "$real/ports"
    elif [ ! -w /var/run/postgresql ]; then
        die "$(id -un) cannot create sockets in /var/run/postgresql; run as root or as postgres"
    fi

    note "monitor on 127.0.0.1:$pm"
    start_keeper "$real" monitor pg_autoctl create monitor --pgdata "$real/monitor" \
        --pgctl "$(bindir)/pg_ctl" --pgport "$pm" --hostname 127.0.0.1 --auth trust --no-ssl --run
    wait_for "the monitor to accept connections" "$real" monitor_ready "$real"
    tune_monitor "$real"

    note "node1 (first primary) on 127.0.0.1:$p1"
    create_node "$real" node1
    wait_for "node1 to run alone as primary" "$real" node_is "$real" node1 single
    tune_node "$real" node1

    # logeerd's role; created on the primary before the standby copies it.
    sql_at "$real" "$p1" "$DBNAME" "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APPUSER') THEN
            CREATE ROLE $APPUSER LOGIN SUPERUSER; END IF; END \$\$;" >/dev/null \
        || die "could not create the role $APPUSER"

    # The standby starts from a base backup, which begins with a spread checkpoint (minutes
    # on a busy machine); an immediate one now leaves that one next to nothing to write.
    sql_at "$real" "$p1" postgres 'CHECKPOINT' >/dev/null || true

    note "node2 (synchronous standby) on 127.0.0.1:$p2"
    create_node "$real" node2
    wait_for "node2 to become secondary" "$real" node_is "$real" node2 secondary
    tune_node "$real" node2
    wait_for "node1 to become primary" "$real" node_is "$real" node1 primary
    wait_for "a synchronous standby to stream" "$real" sync_standby_streaming "$real"
    note "up: primary $(primary_name "$real"), synchronous standby streaming"
    conninfo "$real"
}

cmd_kill_primary() {
    local real p pid
    real=$(real_dir "$1")
    [ -f "$real/ports" ] || die "no formation in $1"
    p=$(primary_name "$real") || die "no node accepts writes now"
    pid=$(head -n 1 "$real/$p/postmaster.pid" 2>/dev/null) || die "no postmaster.pid for $p"
    [[ $pid =~ ^[0-9]+$ ]] || die "bad postmaster.pid for $p"
    kill -KILL "$pid"
    note "killed the postmaster of $p (pid $pid)"
    echo "$p"
}

cmd_status() {
    local real
    real=$(real_dir "$1")
    [ -f "$real/ports" ] || die "no formation in $1"
    as_owner "$real" pg_autoctl show state --pgdata "$real/monitor" || true
    local p
    if p=$(primary_name "$real"); then
        echo "accepting writes: $p"
    else
        echo "accepting writes: none"
        return 1
    fi
}

cmd_primary() {
    local real
    real=$(real_dir "$1")
    primary_name "$real"
}

cmd_url() {
    local real
    real=$(real_dir "$1")
    [ -f "$real/ports" ] || die "no formation in $1"
    conninfo "$real"
}

# Ends every keeper's process group (the keepers, then anything they started), stops any
# server that survived and removes DIR. Safe on a half-made formation, and on none at all.
cmd_down() {
    local dir real
    dir=$(abs_path "$1")
    real=$(real_dir "$1")
    local name pid pids=()
    for name in node2 node1 monitor; do
        [ -f "$real/$name.pid" ] || continue
        pid=$(tr -dc '0-9' <"$real/$name.pid")
        [ -n "$pid" ] || continue
        pids+=("$pid")
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    local tries=100
    while [ "$tries" -gt 0 ]; do
        local alive=0
        for pid in "${pids[@]}"; do
            kill -0 -- "-$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
        tries=$((tries - 1))
    done
    for pid in "${pids[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    # A postmaster restarted by a keeper in its last moments may have left the group.
    for name in node1 node2 monitor; do
        if [ -f "$real/$name/postmaster.pid" ]; then
            pid=$(head -n 1 "$real/$name/postmaster.pid" | tr -dc '0-9')
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf -- "$real"
    [ -L "$dir" ] && rm -f -- "$dir"
    [ -d "$dir" ] && rm -rf -- "$dir"
    note "down: $dir removed"
}

main() {
    [ $# -ge 2 ] || usage
    local cmd=$1
    shift
    case $cmd in
        up) [ $# -eq 1 ] || [ $# -eq 4 ] || usage; cmd_up "$@" ;;
        kill-primary) [ $# -eq 1 ] || usage; cmd_kill_primary "$1" ;;
        status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
        primary) [ $# -eq 1 ] || usage; cmd_primary "$1" ;;
        url) [ $# -eq 1 ] || usage; cmd_url "$1" ;;
        down) [ $# -eq 1 ] || usage; cmd_down "$1" ;;
        *) usage ;;
    esac
}

main "$@"
