#!/usr/bin/env bash
# Builds the fuzz targets and runs them for a bounded time each; used by
# scripts/fuzz-smoke and scripts/fuzz-long (see docs/fuzzing.md).
#
#   fuzz/run-targets.sh MODE SECONDS [TARGET...]
#
# MODE smoke: every target starts from a fresh copy of fuzz/seeds in
#             fuzz/corpus-smoke (scratch, gitignored).
# MODE long:  targets keep their corpus in fuzz/corpus/<target> (gitignored)
#             between runs; the seeds are added to it.
# Prints a table target | execs | execs/s | corpus | result and fails if
# any target found a crash, a timeout or an out-of-memory input; the
# reproducer is in fuzz/artifacts/<target>/, the log in fuzz/logs/.
# Seeds come from fuzz/seeds (make-seeds) and fuzz/regressions (inputs of
# bugs found and fixed).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?mode: smoke or long}
seconds=${2:?seconds per target}
shift 2

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

all_targets=()
for f in fuzz/fuzz_targets/*.rs; do
    all_targets+=("$(basename "$f" .rs)")
done
if [ $# -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "unknown target: $t" >&2; exit 2; }
    done
else
    targets=("${all_targets[@]}")
fi

# Stable toolchain: cargo-fuzz passes only stable codegen flags with
# --sanitizer none, but asks cargo for nightly features; RUSTC_BOOTSTRAP
# allows them. Targets build in fuzz/target, never in the root target dir.
export RUSTC_BOOTSTRAP=1
build_start=$(date +%s)
if [ ${#targets[@]} -eq ${#all_targets[@]} ]; then
    cargo fuzz build --sanitizer none
else
    for t in "${targets[@]}"; do
        cargo fuzz build --sanitizer none "$t"
    done
fi
build_secs=$(( $(date +%s) - build_start ))
# cargo honours CARGO_TARGET_DIR when cargo-fuzz builds; look there too.
target_dir=${CARGO_TARGET_DIR:-fuzz/target}
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release

mkdir -p fuzz/logs
summary=()
failed=0
run_start=$(date +%s)
for t in "${targets[@]}"; do
    if [ "$mode" = smoke ]; then
        corpus=fuzz/corpus-smoke/$t
        rm -rf "$corpus"
    else
        corpus=fuzz/corpus/$t
    fi
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    # The seeds, and the inputs of bugs found and fixed (fuzz/regressions).
    for d in "fuzz/seeds/$t" "fuzz/regressions/$t"; do
        if [ -d "$d" ]; then
            cp -n "$d"/* "$corpus"/ 2>/dev/null || true
        fi
    done
    log=fuzz/logs/$t.log
    echo "== $t: ${seconds}s (corpus $corpus)"
    set +e
    "$bin_dir/$t" "$corpus" \
        -max_total_time="$seconds" \
        -print_final_stats=1 \
        -timeout=60 \
        -rss_limit_mb=4096 \
        -max_len=65536 \
        -artifact_prefix="fuzz/artifacts/$t/" \
        >"$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ -z "$execs" ]; then
        execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    fi
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ -z "$rate" ] || [ "$rate" = 0 ]; then
        rate=$(( ${execs:-0} / seconds ))
    fi
    size=$(find "$corpus" -type f | wc -l)
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status; see $log)"
        failed=1
        grep -E "panicked at|ERROR: libFuzzer|Test unit written to" "$log" | head -5 || true
    fi
    summary+=("$(printf '%-24s | %12s | %9s | %7s | %s' "$t" "${execs:-?}" "${rate:-?}" "$size" "$result")")
done
run_secs=$(( $(date +%s) - run_start ))

echo
printf '%-24s | %12s | %9s | %7s | %s\n' target execs execs/s corpus result
printf '%s\n' "-------------------------+--------------+-----------+---------+-------"
printf '%s\n' "${summary[@]}"
echo
echo "build ${build_secs}s, runs ${run_secs}s (${seconds}s per target, mode $mode)"
exit "$failed"
