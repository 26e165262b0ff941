#!/usr/bin/env bash
# run.sh: README's run command. Installs what is missing, builds a Release logeerd in build/,
# starts a private PostgreSQL cluster for it, applies migrations, loads the Drenthe demo data and
# then becomes `logeerd serve`. It never touches a system PostgreSQL; when LOGEER_DATABASE_URL is
# already set it uses that database instead of starting a private cluster.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${LOGEER_BUILD_DIR:-$ROOT/build}
export LOGEER_LISTEN=${LOGEER_LISTEN:-127.0.0.1:8080}
export LOGEER_MIGRATIONS_DIR=${LOGEER_MIGRATIONS_DIR:-$ROOT/migrations}
# The demo has no SMTP server: every email becomes a .eml file here (open one in a mail program).
if [ -z "${LOGEER_SMTP_URL:-}" ]; then
    export LOGEER_MAIL_DIR=${LOGEER_MAIL_DIR:-$ROOT/.local/mail}
fi
export LOGEER_PUBLIC_URL=${LOGEER_PUBLIC_URL:-http://$LOGEER_LISTEN}
# Webhook secrets are sealed under LOGEER_WEBHOOK_KEY, and logeerd refuses to run with webhook
# endpoints but no key. The demo makes one once and keeps it beside its other state, so
# endpoints registered in the demo still work after a restart.
if [ -z "${LOGEER_WEBHOOK_KEY:-}" ]; then
    keyfile=$ROOT/.local/webhook-key
    if [ ! -s "$keyfile" ]; then
        mkdir -p "$ROOT/.local"
        (umask 077 && openssl rand -hex 32 > "$keyfile")
    fi
    LOGEER_WEBHOOK_KEY=$(cat "$keyfile")
    export LOGEER_WEBHOOK_KEY
fi

# The local demo's staff accounts sign in with a password alone, so the demo can be tried at
# once; logeerd warns about it at start-up. In production the default applies (provider,
# coordinator and admin need a second factor); try it here with
# LOGEER_MFA_REQUIRED_ROLES=provider,coordinator,admin deploy/run.sh
export LOGEER_MFA_REQUIRED_ROLES=${LOGEER_MFA_REQUIRED_ROLES-}

say() { echo "run.sh: $*" >&2; }

# The cluster lives in the project (.local/pg) when the postgres user can reach it; when run as
# root from a private directory (e.g. /root), it lives under /tmp instead, in a directory named
# after this checkout so that two checkouts never share a cluster.
pick_pg_dir() {
    if [ -n "${LOGEER_PG_DIR:-}" ]; then
        echo "$LOGEER_PG_DIR"
        return
    fi
    if [ "$(id -u)" -ne 0 ] || (cd / && runuser -u postgres -- test -x "$ROOT") 2>/dev/null; then
        echo "$ROOT/.local/pg"
    else
        echo "/tmp/logeer-run-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
    fi
}

ensure_database() {
    local pgdir=$1 db=$2 admin
    admin=$("$ROOT/deploy/pg.sh" url "$pgdir" postgres)
    if [ "$(psql -X -qAt -d "$admin" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        say "creating database $db"
        psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c "CREATE DATABASE \"$db\""
    fi
}

main() {
    "$ROOT/deploy/install-deps.sh" >&2

    say "building logeerd (Release) in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLOGEER_TESTS=OFF >&2
    cmake --build "$BUILD_DIR" -j"$(nproc)" >&2
    local logeerd="$BUILD_DIR/logeerd"

    if [ -z "${LOGEER_DATABASE_URL:-}" ]; then
        local pgdir
        pgdir=$(pick_pg_dir)
        mkdir -p "$(dirname "$pgdir")"
        "$ROOT/deploy/pg.sh" start "$pgdir" >&2
        ensure_database "$pgdir" logeer
        LOGEER_DATABASE_URL=$("$ROOT/deploy/pg.sh" url "$pgdir" logeer)
        export LOGEER_DATABASE_URL
        say "private PostgreSQL in $pgdir (stop it with: deploy/pg.sh stop $pgdir)"
    else
        say "using LOGEER_DATABASE_URL from the environment"
    fi

    "$logeerd" migrate
    "$logeerd" seed-demo

    cat >&2 <<EOF

  logeerd is starting on http://$LOGEER_LISTEN
  Demo logins (password: logeerzorg-demo):
    beheer@demo.logeer.nl         admin
    aanjager@demo.logeer.nl       coordinator
    huisarts@demo.logeer.nl       referrer
    mantelzorger@demo.logeer.nl   caregiver
  Try: curl -s http://$LOGEER_LISTEN/v1/municipalities
       curl -s -X POST -H 'Content-Type: application/json' \\
            -d '{"email":"aanjager@demo.logeer.nl","password":"logeerzorg-demo"}' \\
            http://$LOGEER_LISTEN/v1/sessions
  Emails: ${LOGEER_MAIL_DIR:-sent through $LOGEER_SMTP_URL} (one .eml file per message)
  Stop with Ctrl-C.

EOF
    exec "$logeerd" serve
}

main "$@"
