#!/usr/bin/env bash
# install-deps.sh: installs, with apt-get, what it takes to build, run and test logeerd on
# Debian 12. It asks dpkg first and touches apt only for what is missing, so a second run is
# instant. It never starts or configures a system PostgreSQL service (deploy/pg.sh runs private
# clusters instead).
set -euo pipefail

PROG=install-deps.sh

# Needed to build, run and test.
REQUIRED=(
    build-essential cmake pkg-config
    libpq-dev libevent-dev libcjson-dev libssl-dev libargon2-dev
    postgresql postgresql-15 postgresql-client-15
    python3 curl ca-certificates clang tzdata
)
# Wanted for fuzzing and clang's sanitizer runtime; a failure to install them is not fatal.
OPTIONAL=(libclang-rt-14-dev)

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing_of() {
    local p
    for p in "$@"; do
        is_installed "$p" || echo "$p"
    done
}

main() {
    command -v dpkg-query >/dev/null || { echo "$PROG: needs a Debian-like system (dpkg, apt-get)" >&2; exit 1; }

    local -a missing_required missing_optional sudo=()
    mapfile -t missing_required < <(missing_of "${REQUIRED[@]}")
    mapfile -t missing_optional < <(missing_of "${OPTIONAL[@]}")
    if [ ${#missing_required[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
        echo "$PROG: all dependencies are installed"
        return 0
    fi

    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            echo "$PROG: missing ${missing_required[*]} ${missing_optional[*]}; run as root or install sudo" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    local -a apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
                  -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
                  -o Dpkg::Options::=--force-confold)

    echo "$PROG: installing ${missing_required[*]} ${missing_optional[*]}"
    "${apt[@]}" update
    if [ ${#missing_required[@]} -gt 0 ]; then
        "${apt[@]}" install --no-install-recommends "${missing_required[@]}"
    fi
    if [ ${#missing_optional[@]} -gt 0 ]; then
        "${apt[@]}" install --no-install-recommends "${missing_optional[@]}" \
            || echo "$PROG: optional ${missing_optional[*]} not installed (only needed for fuzzing)" >&2
    fi

    local still
    still=$(missing_of "${REQUIRED[@]}")
    if [ -n "$still" ]; then
        echo "$PROG: still missing after apt-get: $still" >&2
        exit 1
    fi
    echo "$PROG: done"
}

main "$@"
