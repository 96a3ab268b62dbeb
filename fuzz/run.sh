#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECS seconds each (default 60) and prints
# how many inputs each one executed. Installs cargo-fuzz when missing.
# Without a nightly toolchain, targets run with `--sanitizer none`: Rust's
# own checks (bounds, overflow with debug assertions) still catch bugs.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
TARGETS=(config interval command_args payload store_ops)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

summary=""
for target in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    dict=()
    [ -f "fuzz/dict/$target.dict" ] && dict=("-dict=fuzz/dict/$target.dict")
    log="fuzz/corpus/$target.log"
    if ! cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        -- -max_total_time="$SECS" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: target $target FAILED (reproducer under fuzz/artifacts/$target/)"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    summary+=$(printf '%-14s %12s inputs in %s s' "$target" "$runs" "$SECS")$'\n'
done
printf 'fuzz: every target passed\n%s' "$summary"
