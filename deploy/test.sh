#!/usr/bin/env bash
# test.sh: README's test command. First builds the Release tree deploy/run.sh uses (build/;
# it must build, -Werror and all). Then builds two trees, a normal one (build-test/) and one with
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/), and runs every unit and
# integration test in each with ctest. When clang and its libFuzzer runtime are installed, a
# third tree (build-fuzz/) runs the libFuzzer harnesses of tests/fuzz for a short fixed budget.
# Every suite always runs; the exit status is non-zero when any fails. The last line printed is
# a ctest-style summary over all suites, so nothing a reader or CI looks for can scroll past it.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${LOGEER_TEST_JOBS:-2}
LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

say() { echo "test.sh: $*"; }

TOTAL=0
FAILED=0
FAILED_NAMES=()
FAILED_CHECKS=()   # the first failed checks of each failed test, for the end of the log
SUITE_TIMES=()     # each suite's wall time and its slowest tests

# "name Ns" of the three slowest tests in a ctest log ("... Test #12: name ....   Passed 3.2 sec").
slowest_tests() {
    sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9]+)\.[0-9]+ sec$/\2 \1/p' "$1" | sort -rn | head -n 3 |
        awk '{ printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1 }'
}

# The harness's "FAIL  check: detail" lines of the tests that failed, named by test, at most
# three a test and 200 characters a line: CI shows only the end of the log, and a test that
# failed once under load should leave its reason there. A failed test that printed no such
# line (a browser script that threw, a crash) leaves the last three lines of its output.
failed_checks() {
    local suite=$1 last=$2
    [ -f "$last" ] || return 0
    awk -v suite="$suite" '
        /^[0-9]+\/[0-9]+ Testing: / { test = $3; n = 0; tail1 = tail2 = tail3 = ""; out = 0; next }
        /^Output:$/ { out = 1; next }
        /^<end of output>$/ { out = 0; next }
        /^Test Failed/ && n == 0 {
            if (tail1 != "") print suite ": " test ": (last lines) " substr(tail1, 1, 200)
            if (tail2 != "") print suite ": " test ": (last lines) " substr(tail2, 1, 200)
            if (tail3 != "") print suite ": " test ": (last lines) " substr(tail3, 1, 200)
            next }
        /^FAIL  / && n < 3 { n++; print suite ": " test ": " substr($0, 7, 200); next }
        out && NF && !/^-+$/ { tail1 = tail2; tail2 = tail3; tail3 = $0 }' "$last"
}

# Adds one suite's ctest summary ("N% tests passed, M tests failed out of K") to the totals.
count_summary() {
    local line=$1 failed total
    failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    TOTAL=$((TOTAL + total))
    FAILED=$((FAILED + failed))
}

# Builds one tree and runs its tests. A tree that does not configure or build counts as one
# failed test, so a broken build can never look like a pass.
run_suite() {
    local name=$1 dir=$2
    shift 2
    local log="$LOG_DIR/$name.log"
    say "== $name: configure and build in $dir"
    if ! cmake -S "$ROOT" -B "$dir" -DLOGEER_TESTS=ON "$@"; then
        say "$name: configure failed; its tests were not run"
        TOTAL=$((TOTAL + 1)); FAILED=$((FAILED + 1))
        return 1
    fi
    if ! cmake --build "$dir" -j"$JOBS"; then
        say "$name: build failed; its tests were not run"
        TOTAL=$((TOTAL + 1)); FAILED=$((FAILED + 1))
        return 1
    fi
    say "== $name: ctest"
    local rc=0 started
    started=$(date +%s)
    (cd "$dir" && ctest --output-on-failure -j"$JOBS") 2>&1 | tee "$log" || rc=$?
    SUITE_TIMES+=("$name: $(( $(date +%s) - started )) s of tests; slowest: $(slowest_tests "$log")")
    local check_line
    while IFS= read -r check_line; do
        FAILED_CHECKS+=("$check_line")
    done < <(failed_checks "$name" "$dir/Testing/Temporary/LastTest.log")
    local summary
    summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
    if [ -z "$summary" ]; then
        say "$name: ctest printed no summary (exit $rc)"
        TOTAL=$((TOTAL + 1)); FAILED=$((FAILED + 1))
        return 1
    fi
    say "$name: $summary"
    # The contract fuzz's own summary (requests, operations, findings) is in the test log
    # even when the test passed; show it, since CI's output keeps only failures.
    grep -hoE 'fuzz: [0-9]+ requests, .*' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null |
        sed "s/^/test.sh: $name: /"
    count_summary "$summary"
    # Remember which tests failed, so the end of the log names them (CI shows only its tail).
    local failed_line
    while IFS= read -r failed_line; do
        FAILED_NAMES+=("$name: ${failed_line#*- }")
    done < <(grep -E '^[[:space:]]+[0-9]+ - .*\((Failed|Timeout|Not Run|SEGFAULT|Subprocess aborted)\)' "$log")
    return "$rc"
}

# Builds the tree deploy/run.sh builds (Release, no tests) and counts it as one test: an
# optimised build warns about things the others do not (-Werror: maybe-uninitialized,
# format-truncation), and README's first command must not be the one to find them.
build_only() {
    local name=$1 dir=$2
    shift 2
    say "== $name: configure and build in $dir (counted as one test)"
    TOTAL=$((TOTAL + 1))
    if cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j"$JOBS"; then
        say "$name: builds"
        return 0
    fi
    say "$name: does not build"
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name: the build")
    return 1
}

# True when clang can link a libFuzzer harness (clang plus its fuzzer runtime, e.g. Debian's
# libclang-rt-14-dev); the fuzz suite is skipped, not failed, without them.
fuzzer_available() {
    command -v clang >/dev/null || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' |
        clang -x c -fsanitize=fuzzer,address,undefined -o "$LOG_DIR/fuzz-probe" - 2>/dev/null
}

main() {
    local status=0 suites="release build, normal, then asan"
    "$ROOT/deploy/install-deps.sh" || exit 1

    build_only release "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DLOGEER_TESTS=OFF || status=1

    run_suite normal "$ROOT/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGEER_SANITIZE=OFF \
        || status=1

    # Leaks are failures too; abort_on_error turns any report into a crash the tests see.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite asan "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug -DLOGEER_SANITIZE=ON \
        || status=1

    # The fuzz tree registers only the harnesses (the other trees ran the unit and integration
    # tests); each fuzzes for LOGEER_FUZZ_SECONDS, 20 by default (tests/fuzz/README.md).
    if fuzzer_available; then
        suites="release build, normal, asan, then fuzz"
        run_suite fuzz "$ROOT/build-fuzz" -DCMAKE_C_COMPILER="$(command -v clang)" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGEER_TESTS=OFF -DLOGEER_FUZZ=ON \
            || status=1
    else
        say "== fuzz: skipped (clang or its libFuzzer runtime is not installed)"
    fi

    [ "$FAILED" -eq 0 ] || status=1
    [ "$TOTAL" -gt 0 ] || { TOTAL=1; FAILED=1; status=1; }

    # The same arithmetic as ctest: rounded, but never 100% while something failed.
    local passed=$((TOTAL - FAILED)) percent
    percent=$(( (passed * 100 + TOTAL / 2) / TOTAL ))
    if [ "$FAILED" -gt 0 ] && [ "$percent" -gt 99 ]; then percent=99; fi
    echo
    if [ "$status" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
        # ctest failed without counting a failed test (e.g. it could not start): say so.
        FAILED=1; TOTAL=$((TOTAL + 1)); passed=$((TOTAL - FAILED))
        percent=$(( (passed * 100 + TOTAL / 2) / TOTAL ))
        if [ "$percent" -gt 99 ]; then percent=99; fi
    fi
    say "time per suite (the whole run should stay well inside 30 minutes):"
    printf '  %s\n' "${SUITE_TIMES[@]}"
    if [ ${#FAILED_NAMES[@]} -gt 0 ]; then
        say "failed tests:"
        printf '  %s\n' "${FAILED_NAMES[@]}"
    fi
    if [ ${#FAILED_CHECKS[@]} -gt 0 ]; then
        say "their failed checks (first three a test):"
        printf '  %s\n' "${FAILED_CHECKS[@]:0:20}"
    fi
    say "all suites ($suites) together:"
    echo "${percent}% tests passed, ${FAILED} tests failed out of ${TOTAL}"
    exit "$status"
}

main "$@"
