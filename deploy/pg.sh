#!/usr/bin/env bash
# pg.sh: creates, starts, stops and describes one private PostgreSQL cluster living in a single
# directory, for development and tests. It never touches the machine's own clusters or services,
# never opens a TCP port and never sets a password: the only door is a Unix socket in DIR.
#
# Usage:
#   pg.sh start DIR [PORT]     initdb once, then start (already running: fine); waits until ready
#   pg.sh stop DIR             fast shutdown (running transactions are rolled back)
#   pg.sh stop-immediate DIR   immediate shutdown, as if the machine lost power
#   pg.sh url DIR [DBNAME]     prints a libpq conninfo for the cluster (DBNAME defaults to logeer)
#   pg.sh status DIR           exit 0 when running, 3 when stopped, 4 when there is no cluster
#
# Layout: DIR/data is the data directory, DIR/postgresql.log the server log, DIR/port the port
# that names the socket (DIR/.s.PGSQL.PORT). The superuser is `logeer`; local socket logins are
# trusted, which is safe only because DIR is private to the cluster's owner.
#
# PostgreSQL refuses to run as root. Run as root, this script hands DIR to the `postgres` system
# user and runs the server through runuser. That user must be able to reach DIR; when a parent
# directory is private (mktemp -d, /root) or the socket path would be too long for a Unix socket,
# the cluster lives in /tmp/logeer-pg-<hash of DIR> instead and DIR becomes a symbolic link to
# it, so callers can keep naming DIR. Such a cluster records DIR in its `linked-from` file; once
# DIR is gone (a clone or temp dir removed) and the cluster is stopped, the next `pg.sh start`
# removes it, so that /tmp does not fill with clusters nobody can name any more.
set -euo pipefail

PROG=pg.sh
DEFAULT_PORT=5432
SUPERUSER=logeer
# sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH=107

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The server binaries are not on PATH on Debian; take the newest installed major version,
# or PG_BINDIR when the caller wants a specific one.
pg_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/pg_ctl" ] || die "PG_BINDIR=$PG_BINDIR has no pg_ctl"
        echo "$PG_BINDIR"
        return
    fi
    local best d
    # The glob sorts lexically (10 before 9); sort numerically on the version instead.
    best=$(for d in /usr/lib/postgresql/*/bin; do
               [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
           done | sort -t/ -k4,4n | tail -n 1)
    [ -n "$best" ] || die "no PostgreSQL server found under /usr/lib/postgresql/*/bin (run deploy/install-deps.sh)"
    echo "$best"
}

# Runs a command as the cluster's owner: the postgres system user when we are root, else us.
# The working directory is / so that a private caller's directory does not get in the way.
as_owner() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

owner_can_reach() {
    local dir=$1
    is_root || return 0
    (cd / && runuser -u postgres -- test -x "$dir") 2>/dev/null
}

hash_of() { printf '%s' "$1" | sha256sum | cut -c1-12; }

abs_path() {
    local p=$1
    case $p in
        /*) ;;
        *) p="$PWD/$p" ;;
    esac
    # Normalise without requiring the path to exist (realpath -m).
    realpath -m -- "$p"
}

# Decides where the cluster really lives and prints that directory. With create=1 it also makes
# the directory (and the /tmp fallback with its link) and hands it to the owner.
resolve_dir() {
    local dir create=$2
    dir=$(abs_path "$1")
    if [ -L "$dir" ]; then
        local target
        target=$(readlink -f -- "$dir") || die "$dir is a dangling link"
        if [ "$create" = 1 ] && [ ! -d "$target" ]; then
            # A link left behind after /tmp was cleaned: recreate its target.
            make_private_dir "$target"
        fi
        echo "$target"
        return
    fi
    if [ "$create" != 1 ]; then
        echo "$dir"
        return
    fi

    mkdir -p -- "$dir"
    if is_root; then
        chown postgres:postgres -- "$dir"
        chmod 700 -- "$dir"
    fi
    local suffix=/.s.PGSQL.65535
    local sock_len=$(( ${#dir} + ${#suffix} ))
    # PostgreSQL's settings file and its socket directory list want plain paths.
    if owner_can_reach "$dir" && [ "$sock_len" -le "$MAX_SOCKET_PATH" ] \
            && [[ $dir =~ ^[A-Za-z0-9/._+-]+$ ]]; then
        echo "$dir"
        return
    fi

    local alt
    alt="/tmp/logeer-pg-$(hash_of "$dir")"
    if [ -n "$(ls -A -- "$dir")" ]; then
        die "$dir is not usable (postgres cannot reach it, or its path is too long or has odd characters) and is not empty; pick a directory the postgres user can traverse"
    fi
    if ! owner_can_reach /tmp; then
        die "the postgres user cannot reach $dir nor /tmp; pick a directory it can traverse"
    fi
    make_private_dir "$alt"
    rmdir -- "$dir"
    ln -s -- "$alt" "$dir"
    # Written after the link: a cluster without this file is never taken for an orphan.
    printf '%s\n' "$dir" >"$alt/linked-from"
    note "postgres cannot use $dir (unreachable, too long or odd characters); the cluster lives in $alt, linked from $dir"
    echo "$alt"
}

# Makes a directory only the cluster's owner may enter, refusing anything suspicious that
# someone else may have planted at a predictable path in /tmp.
make_private_dir() {
    local d=$1
    if [ -e "$d" ] || [ -L "$d" ]; then
        if [ ! -d "$d" ] || [ -L "$d" ]; then
            die "$d exists and is not a directory"
        fi
        local owner
        owner=$(stat -c %U -- "$d")
        if is_root; then
            [ "$owner" = postgres ] || [ "$owner" = root ] || die "$d is owned by $owner"
        else
            [ "$owner" = "$(id -un)" ] || die "$d is owned by $owner"
        fi
    else
        mkdir -m 700 -- "$d"
    fi
    if is_root; then
        chown postgres:postgres -- "$d"
    fi
    chmod 700 -- "$d"
}

read_port() {
    local real=$1 port=$DEFAULT_PORT
    if [ -r "$real/port" ]; then
        port=$(tr -dc '0-9' < "$real/port")
        [ -n "$port" ] || port=$DEFAULT_PORT
    fi
    echo "$port"
}

# Quotes a conninfo value when it needs it (spaces, quotes, backslashes or empty).
conninfo_value() {
    local v=$1
    if [[ -z $v || $v =~ [[:space:]\'\\] ]]; then
        v=${v//\\/\\\\}
        v=${v//\'/\\\'}
        printf "'%s'" "$v"
    else
        printf '%s' "$v"
    fi
}

# Settings that depend on where the cluster lives are rewritten on every start, so a cluster
# that moved (or a new PORT) just works. postgresql.conf includes this file.
write_settings() {
    local real=$1 port=$2
    local conf="$real/data/logeer.conf"
    as_owner tee "$conf" >/dev/null <<EOF
# Written by deploy/pg.sh on every start; edit pg.sh, not this file.
listen_addresses = ''
unix_socket_directories = '$real'
unix_socket_permissions = 0700
port = $port
max_connections = 200
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    as_owner tee "$real/port" >/dev/null <<<"$port"
}

init_cluster() {
    local real=$1 bindir=$2
    if [ -f "$real/data/PG_VERSION" ]; then
        return
    fi
    if [ -e "$real/data" ] && [ -n "$(ls -A -- "$real/data")" ]; then
        die "$real/data exists but holds no cluster; remove it or pick another directory"
    fi
    note "creating a new cluster in $real/data"
    if ! as_owner "$bindir/initdb" -D "$real/data" -U "$SUPERUSER" --auth-local=trust \
            --auth-host=reject --encoding=UTF8 --locale=C --no-instructions \
            >"$real/initdb.log.tmp" 2>&1; then
        cat "$real/initdb.log.tmp" >&2
        die "initdb failed"
    fi
    rm -f -- "$real/initdb.log.tmp"
    # Only the local socket, only trust: nothing listens on TCP anyway, and reject says so.
    as_owner tee "$real/data/pg_hba.conf" >/dev/null <<'EOF'
# Written by deploy/pg.sh: local socket only, trusted (the socket directory is private).
local   all   all   trust
EOF
    as_owner tee -a "$real/data/postgresql.conf" >/dev/null <<'EOF'

# deploy/pg.sh keeps its settings in a file of their own.
include_if_exists = 'logeer.conf'
EOF
}

is_running() {
    local real=$1 bindir=$2
    [ -f "$real/data/PG_VERSION" ] || return 1
    as_owner "$bindir/pg_ctl" status -D "$real/data" >/dev/null 2>&1
}

wait_ready() {
    local real=$1 bindir=$2 port=$3 tries=600
    while [ "$tries" -gt 0 ]; do
        if "$bindir/pg_isready" -q -h "$real" -p "$port" -U "$SUPERUSER" -d postgres; then
            return 0
        fi
        sleep 0.1
        tries=$((tries - 1))
    done
    die "PostgreSQL in $real did not become ready within 60 s; see $real/postgresql.log"
}

# A /tmp cluster is an orphan when the DIR it was made for no longer links to it and it is not
# running. Only clusters of the owner this run uses are looked at (postgres as root, else
# ourselves), whose running state it can ask; one still being set up has no linked-from file yet.
is_orphan() {
    local alt=$1 bindir=$2 from owner
    owner=$(is_root && echo postgres || id -un)
    [ -d "$alt" ] && [ ! -L "$alt" ] && [ -r "$alt/linked-from" ] || return 1
    [ "$(stat -c %U -- "$alt")" = "$owner" ] || return 1
    from=$(head -n 1 -- "$alt/linked-from")
    [ -n "$from" ] || return 1
    if [ -L "$from" ] && [ "$(readlink -- "$from")" = "$alt" ]; then
        return 1
    fi
    ! is_running "$alt" "$bindir"
}

remove_orphans() {
    local bindir=$1 alt from
    for alt in /tmp/logeer-pg-*; do
        if is_orphan "$alt" "$bindir"; then
            from=$(head -n 1 -- "$alt/linked-from")
            if rm -rf -- "$alt"; then
                note "removed the stopped cluster $alt: $from no longer links to it"
            fi
        fi
    done
}

cmd_start() {
    local dir=$1 port=${2:-}
    local bindir real
    bindir=$(pg_bindir)
    remove_orphans "$bindir"
    real=$(resolve_dir "$dir" 1)
    [ -n "$port" ] || port=$(read_port "$real")
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        die "bad port: $port"
    fi
    init_cluster "$real" "$bindir"

    if is_running "$real" "$bindir"; then
        local running_port
        running_port=$(read_port "$real")
        if [ -n "${2:-}" ] && [ "$running_port" != "$port" ]; then
            die "already running on port $running_port; stop it before changing the port"
        fi
        wait_ready "$real" "$bindir" "$running_port"
        echo "$PROG: already running in $real"
        return 0
    fi

    write_settings "$real" "$port"
    if ! as_owner "$bindir/pg_ctl" start -D "$real/data" -l "$real/postgresql.log" -w -t 60 \
            >/dev/null; then
        tail -n 30 "$real/postgresql.log" >&2 || true
        die "could not start PostgreSQL in $real"
    fi
    wait_ready "$real" "$bindir" "$port"
    echo "$PROG: running in $real (socket $real/.s.PGSQL.$port)"
}

cmd_stop() {
    local dir=$1 mode=$2
    local bindir real
    bindir=$(pg_bindir)
    real=$(resolve_dir "$dir" 0)
    if ! is_running "$real" "$bindir"; then
        echo "$PROG: not running in $real"
        return 0
    fi
    as_owner "$bindir/pg_ctl" stop -D "$real/data" -m "$mode" -w -t 60 >/dev/null \
        || die "could not stop PostgreSQL in $real"
    echo "$PROG: stopped ($mode) in $real"
}

cmd_url() {
    local dir=$1 db=${2:-logeer}
    local real
    real=$(resolve_dir "$dir" 0)
    printf 'host=%s port=%s user=%s dbname=%s\n' "$(conninfo_value "$real")" \
        "$(read_port "$real")" "$SUPERUSER" "$(conninfo_value "$db")"
}

cmd_status() {
    local dir=$1
    local bindir real rc=0
    bindir=$(pg_bindir)
    real=$(resolve_dir "$dir" 0)
    if [ ! -f "$real/data/PG_VERSION" ]; then
        echo "$PROG: no cluster in $real"
        return 4
    fi
    as_owner "$bindir/pg_ctl" status -D "$real/data" || rc=$?
    return "$rc"
}

main() {
    [ $# -ge 2 ] || usage
    local cmd=$1
    shift
    case $cmd in
        start) [ $# -le 2 ] || usage; cmd_start "$@" ;;
        stop) [ $# -eq 1 ] || usage; cmd_stop "$1" fast ;;
        stop-immediate) [ $# -eq 1 ] || usage; cmd_stop "$1" immediate ;;
        url) [ $# -le 2 ] || usage; cmd_url "$@" ;;
        status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
        *) usage ;;
    esac
}

main "$@"
