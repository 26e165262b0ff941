#!/usr/bin/env bash
# backup.sh: base backups, WAL archiving, point-in-time restore and retention for a PostgreSQL
# cluster that holds logeerd's data. It owns the archive and backup directories it is given and
# never touches anything else; it never deletes WAL unless a complete base backup still needs
# only what is kept.
#
# Usage:
#   backup.sh setup DATADIR ARCHIVE_DIR [--always]   turn on WAL archiving into ARCHIVE_DIR
#   backup.sh base CONN BACKUP_ROOT                   take a base backup into BACKUP_ROOT/base-<UTC time>
#   backup.sh verify BACKUP                           check a base backup against its manifest
#   backup.sh restore BACKUP ARCHIVE_DIR TARGET_TIME NEW_DIR [PORT]
#                                                     point-in-time restore into a fresh cluster
#   backup.sh prune ARCHIVE_DIR BACKUP_ROOT --keep N  keep the newest N base backups and their WAL
#
# DATADIR is the directory of the cluster's postgresql.conf (its data directory, Debian's
# /etc/postgresql/<version>/<name>) or a deploy/pg.sh directory. CONN is a libpq
# conninfo or URI (host=...,... for several hosts), or a deploy/pg.sh directory. TARGET_TIME is a
# timestamp with its zone ('2026-12-05 09:30:00+01'), or `latest` for everything archived.
# NEW_DIR gets the layout of deploy/pg.sh (NEW_DIR/data, the socket in NEW_DIR, PORT default
# 5432), so `pg.sh url|stop|start NEW_DIR` work on the restored cluster.
#
# Archived segments are gzip files (ARCHIVE_DIR/<segment>.gz): a segment closed early by
# archive_timeout is 16 MB of mostly zeroes and shrinks to a few kB. Run as root, the PostgreSQL
# work runs as the `postgres` user (the data directory's owner for setup), like deploy/pg.sh.
set -euo pipefail

PROG=backup.sh
# sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH=107
# archive_timeout bounds how old the newest archived change can be (the RPO of a restore from
# the archive alone); each early switch costs one mostly empty segment, a few kB gzipped.
ARCHIVE_TIMEOUT_S=${LOGEER_ARCHIVE_TIMEOUT_S:-60}
RESTORE_TIMEOUT_S=${LOGEER_RESTORE_TIMEOUT_S:-3600}
CONF_NAME=logeer-backup.conf

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

usage() {
    sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The server binaries are not on PATH on Debian; take the newest installed major version, or
# PG_BINDIR (the same rule as deploy/pg.sh, so both use one PostgreSQL).
pg_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/pg_ctl" ] || die "PG_BINDIR=$PG_BINDIR has no pg_ctl"
        echo "$PG_BINDIR"
        return
    fi
    local best d
    best=$(for d in /usr/lib/postgresql/*/bin; do
               [ -x "$d/pg_ctl" ] && [ -x "$d/pg_basebackup" ] && echo "$d"
           done | sort -t/ -k4,4n | tail -n 1)
    [ -n "$best" ] || die "no PostgreSQL found under /usr/lib/postgresql/*/bin (run deploy/install-deps.sh)"
    echo "$best"
}

# The user that owns clusters, backups and the archive: postgres when we are root, else us.
OWNER=
owner_is() { OWNER=$1; }

# Runs a command as OWNER when we are root. The working directory is / so that a private
# caller's directory does not get in the way.
as_owner() {
    if is_root && [ "${OWNER:-root}" != root ]; then
        (cd / && runuser -u "$OWNER" -- "$@")
    else
        (cd / && "$@")
    fi
}

abs_path() {
    local p=$1
    case $p in
        /*) ;;
        *) p="$PWD/$p" ;;
    esac
    realpath -m -- "$p"
}

# Paths end up inside single-quoted settings and shell commands that PostgreSQL runs; allowing
# only plain characters keeps both free of quoting mistakes.
plain_path() {
    [[ $1 =~ ^/[A-Za-z0-9/._+-]*$ ]] || die "$1: use a path of letters, digits and / . _ + - only"
}

# Makes (or takes) a directory private to OWNER, and checks OWNER can really get in: a parent
# that is private to root (mktemp -d, /root) would make every later step fail obscurely.
owned_dir() {
    local d=$1
    mkdir -p -- "$d"
    if is_root && [ "${OWNER:-root}" != root ]; then
        chown "$OWNER": -- "$d"
    fi
    chmod 700 -- "$d"
    as_owner test -w "$d" -a -x "$d" 2>/dev/null \
        || die "$OWNER cannot write in $d; pick a directory whose parents it can traverse"
}

# The directory with a cluster's postgresql.conf: the data directory, a deploy/pg.sh
# directory's data/, or a configuration directory kept apart (Debian's
# /etc/postgresql/<version>/<name>). pg_ctl and postgres -C accept each of them as -D.
find_confdir() {
    local d
    d=$(abs_path "$1")
    d=$(readlink -f -- "$d") || die "$1 does not exist"
    if [ -f "$d/postgresql.conf" ]; then
        echo "$d"
    elif [ -f "$d/data/postgresql.conf" ]; then
        echo "$d/data"
    else
        die "$1 has no postgresql.conf: give the data directory, a deploy/pg.sh directory or the cluster's configuration directory"
    fi
}

is_running() {
    as_owner "$BINDIR/pg_ctl" status -D "$1" >/dev/null 2>&1
}

# The effective value of a setting as the configuration files give it (also while running).
configured() {
    as_owner "$BINDIR/postgres" -C "$2" -D "$1" 2>/dev/null
}

# The shell commands PostgreSQL runs to store and fetch one WAL file. Storing never overwrites:
# an existing file must be identical (the archiver retries a segment it stored just before a
# crash, and two nodes of an HA pair archive the same segments), anything else is an error that
# stops archiving until someone looks. It writes a temporary name, fsyncs, renames and fsyncs
# the directory, so a crash leaves either no file or a whole one under the segment's name.
archive_command_for() {
    local a=$1
    printf '%s' "f=\"$a/%f.gz\"; if test -f \"\$f\"; then gzip -dc \"\$f\" | cmp -s - \"%p\"; else gzip -1 -c \"%p\" > \"\$f.tmp\" && sync \"\$f.tmp\" && mv \"\$f.tmp\" \"\$f\" && sync \"$a\"; fi"
}

restore_command_for() {
    local a=$1
    printf '%s' "test -f \"$a/%f.gz\" && gzip -dc \"$a/%f.gz\" > \"%p\""
}

# ---------------------------------------------------------------------------------------------
# setup

# deploy/pg.sh's pg_hba.conf trusts local connections to every database but has no line for
# replication connections, which pg_basebackup needs. Add one to such a cluster only: its
# socket directory is private, so this opens nothing new. Other clusters keep their own rules.
allow_local_replication() {
    local data=$1 hba=$1/pg_hba.conf
    [ -f "$hba" ] || return 0
    head -n 1 -- "$hba" | grep -q '^# Written by deploy/pg.sh' || return 0
    grep -Eq '^local[[:space:]]+replication' -- "$hba" && return 0
    as_owner tee -a "$hba" >/dev/null <<'EOF'
# Added by deploy/backup.sh setup: pg_basebackup over the same private socket.
local   replication   all   trust
EOF
    note "allowed local replication connections in $hba (pg.sh cluster)"
}

cmd_setup() {
    local data archive mode=on
    data=$(find_confdir "$1")
    archive=$(abs_path "$2")
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
            --always) mode=always ;;
            *) usage ;;
        esac
        shift
    done
    plain_path "$archive"
    [[ $ARCHIVE_TIMEOUT_S =~ ^[0-9]+$ ]] || die "LOGEER_ARCHIVE_TIMEOUT_S must be a number of seconds"
    owner_is "$(stat -c %U -- "$data")"
    [ "$OWNER" != root ] || die "$data is owned by root; PostgreSQL does not run as root"
    is_root || [ "$OWNER" = "$(id -un)" ] || die "$data belongs to $OWNER; run as $OWNER or root"
    local conf=$data/postgresql.conf
    owned_dir "$archive"

    local before wal_level
    before=$(configured "$data" archive_mode || echo unknown)
    wal_level=$(configured "$data" wal_level || echo replica)
    local tmp
    tmp=$(mktemp)
    {
        echo "# Written by deploy/backup.sh setup; run it again rather than editing this file."
        if [ "$wal_level" = minimal ]; then
            echo "wal_level = replica"
        fi
        echo "archive_mode = $mode"
        echo "archive_command = '$(archive_command_for "$archive")'"
        echo "archive_timeout = $ARCHIVE_TIMEOUT_S"
    } >"$tmp"
    as_owner tee "$data/$CONF_NAME" >/dev/null <"$tmp"
    rm -f -- "$tmp"
    # Appended last so that it wins over settings included earlier (a failover manager's own
    # include file, an old archive_command); ALTER SYSTEM still wins, checked below.
    if ! grep -q "^include_if_exists = '$CONF_NAME'" -- "$conf"; then
        as_owner tee -a "$conf" >/dev/null <<EOF

# deploy/backup.sh keeps the archiving settings in a file of their own.
include_if_exists = '$CONF_NAME'
EOF
    fi
    allow_local_replication "$data"

    # postgresql.auto.conf (ALTER SYSTEM) is read after every other file and would silently
    # win; say so instead of leaving a cluster that does not archive.
    local got want
    got=$(configured "$data" archive_command || true)
    want=$(archive_command_for "$archive")
    [ "$got" = "$want" ] || die "archive_command is still '$got': an ALTER SYSTEM setting overrides $CONF_NAME (ALTER SYSTEM RESET archive_command; then run setup again)"
    [ "$(configured "$data" archive_mode || true)" = "$mode" ] \
        || die "archive_mode is not $mode after setup: an ALTER SYSTEM setting overrides it (ALTER SYSTEM RESET archive_mode)"

    echo "$PROG: WAL archiving ($mode) into $archive configured in $data/$CONF_NAME"
    if is_running "$data"; then
        as_owner "$BINDIR/pg_ctl" reload -D "$data" >/dev/null
        if [ "$before" != "$mode" ]; then
            echo "$PROG: archive_mode takes effect only at server start: restart PostgreSQL now" \
                 "(deploy/pg.sh stop DIR && deploy/pg.sh start DIR, or pg_ctl restart -D $data)"
        fi
    fi
}

# ---------------------------------------------------------------------------------------------
# base

# A deploy/pg.sh directory stands for its conninfo; anything else is passed to libpq as it is.
conninfo_of() {
    local c=$1
    if [ -d "$c" ] && [ -f "$(readlink -f -- "$c")/data/PG_VERSION" ]; then
        "$(dirname "$(readlink -f -- "$0")")/pg.sh" url "$c" postgres
    else
        echo "$c"
    fi
}

start_wal_file() {
    sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$1/backup_label"
}

cmd_base() {
    local conn root label partial
    conn=$(conninfo_of "$1")
    root=$(abs_path "$2")
    owner_is postgres
    owned_dir "$root"
    # Labels sort in time order, which prune relies on; one per second at most.
    label=base-$(date -u +%Y%m%dT%H%M%SZ)
    while [ -e "$root/$label" ] || [ -e "$root/.partial-$label" ]; do
        sleep 1
        label=base-$(date -u +%Y%m%dT%H%M%SZ)
    done
    partial=$root/.partial-$label
    local started=$SECONDS
    # Plain format, because pg_verifybackup of this version checks plain backups only. The WAL
    # that makes the copy consistent is streamed into it (-X stream), so every backup restores
    # on its own even if the archive is damaged, and verify can parse that WAL too.
    if ! as_owner "$BINDIR/pg_basebackup" -d "$conn" -D "$partial" -F plain -X stream \
            --checkpoint=fast --label="logeer $label" --manifest-checksums=SHA256 \
            --no-password; then
        as_owner rm -rf -- "$partial"
        die "pg_basebackup failed; nothing was kept"
    fi
    # Renamed only when whole: prune and restore never take a half-written backup.
    as_owner mv -- "$partial" "$root/$label"
    as_owner sync -- "$root"
    echo "$PROG: base backup $label: $(du -sh -- "$root/$label" | cut -f1), starts at WAL" \
         "$(start_wal_file "$root/$label"), took $((SECONDS - started)) s"
    echo "$root/$label"
}

# ---------------------------------------------------------------------------------------------
# verify

is_backup() { [ -f "$1/backup_label" ] && [ -f "$1/backup_manifest" ]; }

cmd_verify() {
    local backup
    backup=$(abs_path "$1")
    is_backup "$backup" || die "$backup is not a base backup (no backup_label or backup_manifest)"
    owner_is "$(stat -c %U -- "$backup")"
    as_owner "$BINDIR/pg_verifybackup" --quiet -- "$backup" \
        || die "$backup does NOT match its manifest; do not restore from it"
    echo "$PROG: $backup matches its manifest (every file's SHA-256, and its WAL parses)"
}

# ---------------------------------------------------------------------------------------------
# restore

valid_target() {
    local t=$1
    [ "$t" = latest ] && return 0
    [[ $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[\ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?\ ?(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$ ]] \
        || die "TARGET_TIME '$t': give a timestamp with its zone, e.g. '2026-12-05 09:30:00+01', or latest"
}

cluster_state() {
    as_owner "$BINDIR/pg_controldata" -D "$1" 2>/dev/null \
        | sed -n 's/^Database cluster state: *//p'
}

# The postmaster's own word (line 8 of postmaster.pid): "standby" while it recovers, "ready"
# once it accepts writes. Read from the file rather than by connecting: the superuser's name
# differs between clusters and a failed login only fills the log.
postmaster_status() {
    sed -n '8{s/[[:space:]]*$//;p}' "$1/postmaster.pid" 2>/dev/null || true
}

cmd_restore() {
    local backup archive target dir port=${5:-5432}
    backup=$(abs_path "$1")
    archive=$(abs_path "$2")
    target=$3
    dir=$(abs_path "$4")
    valid_target "$target"
    plain_path "$archive"
    plain_path "$dir"
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        die "bad port: $port"
    fi
    [ $(( ${#dir} + ${#port} + 9 )) -le $MAX_SOCKET_PATH ] || die "$dir is too long for a socket path"
    [ -d "$archive" ] || die "$archive is not a directory"
    if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir")" ]; then
        die "$dir is not empty: restore only into a fresh directory"
    fi
    cmd_verify "$backup"
    owner_is postgres
    owned_dir "$dir"
    local data=$dir/data started=$SECONDS
    as_owner cp -a -- "$backup" "$data"
    as_owner chmod 700 -- "$data"
    as_owner rm -f -- "$data/backup_manifest"
    as_owner touch -- "$data/recovery.signal"
    # Appended to postgresql.auto.conf, which is read last, so these win over whatever the
    # source cluster's files say: a restored copy must not archive into the source's archive
    # (its new timeline would be followed by every later restore), must not wait for the
    # source's synchronous standby, and gets its own socket.
    local target_line="recovery_target_time = '$target'"
    [ "$target" = latest ] && target_line="# recovery_target: the end of the archive"
    as_owner tee -a "$data/postgresql.auto.conf" >/dev/null <<EOF
# Added by deploy/backup.sh restore at $(date -u +%Y-%m-%dT%H:%M:%SZ) from $backup.
# The recovery_* and restore_command lines only act during recovery; once this copy is to be a
# primary, turn archiving on again with backup.sh setup and a NEW archive directory.
restore_command = '$(restore_command_for "$archive")'
$target_line
recovery_target_action = 'promote'
recovery_target_timeline = 'latest'
archive_mode = off
synchronous_standby_names = ''
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
port = $port
EOF
    as_owner tee "$dir/port" >/dev/null <<<"$port"

    as_owner "$BINDIR/pg_ctl" start -D "$data" -l "$dir/postgresql.log" -W >/dev/null \
        || die "could not start the restored cluster; see $dir/postgresql.log"
    # Ready means recovery reached the target and the copy was promoted: recovery.signal is
    # gone, the control file says "in production" and the postmaster says "ready". A target the archive cannot reach stops the
    # server with FATAL, which ends the wait at once.
    local deadline=$((SECONDS + RESTORE_TIMEOUT_S))
    while :; do
        if [ ! -e "$data/recovery.signal" ] && [ "$(cluster_state "$data")" = "in production" ] \
                && [ "$(postmaster_status "$data")" = ready ]; then
            break
        fi
        if ! is_running "$data" && [ $((SECONDS - started)) -gt 5 ]; then
            tail -n 20 -- "$dir/postgresql.log" >&2 || true
            if grep -q 'recovery ended before configured recovery target was reached' \
                    -- "$dir/postgresql.log"; then
                die "the archive holds no commit after $target (choose 'latest'), or $backup" \
                    "ended after it (choose an older backup); $dir is left for inspection"
            fi
            die "the restored cluster stopped during recovery; see $dir/postgresql.log"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "recovery did not finish within $RESTORE_TIMEOUT_S s; see $dir/postgresql.log"
        sleep 0.2
    done
    echo "$PROG: restored $backup to $target in $((SECONDS - started)) s; serving on $dir (port $port)"
    echo "host=$dir port=$port"
}

# ---------------------------------------------------------------------------------------------
# prune

complete_backups() {
    local root=$1 d
    for d in "$root"/base-*; do
        [ -d "$d" ] && is_backup "$d" && echo "$d"
    done | sort
}

cmd_prune() {
    local archive root keep=
    archive=$(abs_path "$1")
    root=$(abs_path "$2")
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
            --keep) [ $# -ge 2 ] || usage; keep=$2; shift ;;
            *) usage ;;
        esac
        shift
    done
    [[ $keep =~ ^[1-9][0-9]*$ ]] || die "--keep N: N must be 1 or more"
    [ -d "$archive" ] || die "$archive is not a directory"
    owner_is postgres
    local -a all
    mapfile -t all < <(complete_backups "$root")
    # Without a complete backup no WAL may go: it is the only copy of those changes.
    [ ${#all[@]} -gt 0 ] || die "no complete base backup in $root; nothing pruned"
    local n=${#all[@]} i
    for ((i = 0; i < n - keep; i++)); do
        as_owner rm -rf -- "${all[$i]}"
        echo "$PROG: removed base backup ${all[$i]}"
    done
    local first=$(( n > keep ? n - keep : 0 ))
    local oldest=${all[$first]} wal
    wal=$(start_wal_file "$oldest")
    [ -n "$wal" ] || die "$oldest/backup_label names no start WAL file; archive left alone"
    local before after
    before=$(find "$archive" -maxdepth 1 -name '*.gz' | wc -l)
    # pg_archivecleanup removes the segments older than the one the oldest kept backup starts
    # in (on every timeline); timeline history and backup history files stay.
    as_owner "$BINDIR/pg_archivecleanup" -x .gz -- "$archive" "$wal"
    # Backup history files (<segment>.<offset>.backup) of removed backups go too; compared
    # without the timeline, as pg_archivecleanup compares segments.
    local f name
    for f in "$archive"/*.backup.gz; do
        [ -e "$f" ] || continue
        name=$(basename -- "$f")
        if [[ ${name:8:16} < ${wal:8:16} ]]; then
            as_owner rm -f -- "$f"
        fi
    done
    after=$(find "$archive" -maxdepth 1 -name '*.gz' | wc -l)
    echo "$PROG: kept $((n - first)) base backups (oldest $(basename "$oldest")) and the WAL from" \
         "$wal on; removed $((before - after)) archived files"
    local leftover
    for leftover in "$root"/.partial-*; do
        [ -e "$leftover" ] && note "an unfinished backup is left over: $leftover (remove it when no backup runs)"
    done
    return 0
}

main() {
    [ $# -ge 1 ] || usage
    [[ $RESTORE_TIMEOUT_S =~ ^[1-9][0-9]*$ ]] || die "LOGEER_RESTORE_TIMEOUT_S must be a number of seconds"
    local cmd=$1
    shift
    BINDIR=$(pg_bindir)
    case $cmd in
        setup) [ $# -ge 2 ] || usage; cmd_setup "$@" ;;
        base) [ $# -eq 2 ] || usage; cmd_base "$@" ;;
        verify) [ $# -eq 1 ] || usage; cmd_verify "$@" ;;
        restore) [ $# -eq 4 ] || [ $# -eq 5 ] || usage; cmd_restore "$@" ;;
        prune) [ $# -ge 2 ] || usage; cmd_prune "$@" ;;
        *) usage ;;
    esac
}

main "$@"
