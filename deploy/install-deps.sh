#!/usr/bin/env bash
# install-deps.sh: installs, with apt-get, what it takes to build, run and test logeerd on
# Debian 12. It asks dpkg first and touches apt only for what is missing, so a second run is
# instant. It never starts or configures a system PostgreSQL service (deploy/pg.sh runs private
# clusters instead). The browser and contract tests also need Debian's Chromium, Node.js with
# npm, and the npm packages that `npm ci` installs from the committed lock files in tests/browser
# and tests/contract (never a browser download of its own).
set -euo pipefail

PROG=install-deps.sh

# Needed to build, run and test.
REQUIRED=(
    build-essential cmake pkg-config
    libpq-dev libevent-dev libcjson-dev libssl-dev libargon2-dev libcurl4-openssl-dev
    libcjose-dev liboath-dev libqrencode-dev oathtool libcbor-dev
    postgresql postgresql-15 postgresql-client-15
    postgresql-15-auto-failover pg-auto-failover-cli
    python3 curl ca-certificates clang tzdata
    chromium prometheus python3-yaml python3-jsonschema python3-aiosmtpd
    wrk  # the benchmark, tests/bench/run.sh (pgbench comes with postgresql-client-15)
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

# Node.js may come from Debian (nodejs + npm) or from elsewhere with npm bundled; only the
# commands matter.
missing_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    echo nodejs
    command -v npm >/dev/null || echo npm
}

# The npm packages of the tests, exactly as each lock file says: playwright-core and
# axe-core (the accessibility checks) in tests/browser, the contract
# tools (Redocly, fast-check, json-schema-faker, ajv) in tests/contract, the standardwebhooks
# verifier in tests/webhooks, a real OpenID Provider (oidc-provider) and jose in tests/sso. A tree that already matches its lock file is left alone (npm ci would delete
# and reinstall it every time).
install_test_packages() {
    local root dir
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    for dir in "$root/tests/browser" "$root/tests/contract" "$root/tests/webhooks" \
               "$root/tests/sso"; do
        if [ -f "$dir/node_modules/.package-lock.json" ] &&
           [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
            continue
        fi
        echo "$PROG: npm ci in ${dir#"$root"/}"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    done
}

main() {
    command -v dpkg-query >/dev/null || { echo "$PROG: needs a Debian-like system (dpkg, apt-get)" >&2; exit 1; }

    local -a missing_required missing_optional sudo=()
    mapfile -t missing_required < <(missing_of "${REQUIRED[@]}")
    mapfile -t missing_optional < <(missing_of "${OPTIONAL[@]}")
    local -a node_pkgs
    mapfile -t node_pkgs < <(missing_node)
    missing_required+=("${node_pkgs[@]}")
    if [ ${#missing_required[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
        install_test_packages
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
    still="$(missing_of "${REQUIRED[@]}") $(missing_node)"
    if [ -n "${still// /}" ]; then
        echo "$PROG: still missing after apt-get: $still" >&2
        exit 1
    fi
    install_test_packages
    echo "$PROG: done"
}

main "$@"
