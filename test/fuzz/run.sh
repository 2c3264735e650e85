#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each and fails when one ran fewer than
# FUZZ_MIN_EXECS executions: a target that spends its budget minimizing (Go's default
# -fuzzminimizetime is 60s per new input) or stalls must be a red run, not a silent PASS.
# Prints one line per target and a table at the end.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
FUZZ_MIN_EXECS=${FUZZ_MIN_EXECS:-1000}
FUZZ_MINIMIZE=${FUZZ_MINIMIZE:-100x}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

results=() failed=0
for pkg in $($GO list ${FUZZ_PKGS:-./...}); do
  for target in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    out="$log/$target.log"
    echo "== $pkg $target ($FUZZTIME, minimize ${FUZZ_MINIMIZE})"
    status=ok
    if ! $GO test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" \
      -fuzzminimizetime "$FUZZ_MINIMIZE" >"$out" 2>&1; then
      status=FAIL
    fi
    # The fuzzer's progress lines read "fuzz: elapsed: 3s, execs: 12345 (4115/sec), ...";
    # the last one holds the total.
    execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' "$out" | tail -n 1)
    execs=${execs:-0}
    if [ "$status" = ok ] && [ "$execs" -lt "$FUZZ_MIN_EXECS" ]; then
      status="FAIL (fewer than $FUZZ_MIN_EXECS executions)"
    fi
    if [ "$status" != ok ]; then
      failed=1
      tail -n 30 "$out"
    fi
    echo "   $execs executions: $status"
    results+=("$(printf '%-60s %-22s %12s  %s' "${pkg#github.com/rktsched/rktsched/}" "$target" "$execs" "$status")")
  done
done

printf '\n%-60s %-22s %12s  %s\n' package target executions result
printf '%s\n' "${results[@]}"
exit "$failed"
