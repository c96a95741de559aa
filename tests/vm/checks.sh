# Sourced by the host-side VM runners (tests/vm/test-*): assertions on the scenario's results.txt in $OUT, reported
# like tests, and the summary line that sets the runner's exit status.
passed=0
failed=0
# check NAME CONDITION: one assertion on results.txt, reported like a test.
check() {
    if eval "$2"; then
        passed=$((passed + 1)); echo "ok: $1"
    else
        failed=$((failed + 1)); echo "FAILED: $1"
    fi
}
# value KEY: the scenario's result KEY=VALUE (first one), empty when absent.
value() { sed -n "s/^$1=//p" "$OUT/results.txt" 2>/dev/null | head -n 1; }
# finish: prints `N passed, N failed`; succeeds only when every check passed.
finish() {
    echo "$passed passed, $failed failed"
    [[ $failed == 0 ]]
}
