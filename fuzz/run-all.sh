#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, JOBS (default 2) at
# a time, and prints the number of runs of each. Needs the nightly toolchain
# and cargo-fuzz (`cargo install cargo-fuzz`). Findings land in artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
jobs=${JOBS:-2}
cargo +nightly fuzz build >/dev/null 2>&1
mkdir -p logs
targets=$(cargo +nightly fuzz list)
printf '%s\n' $targets | xargs -P "$jobs" -I{} sh -c \
    "cargo +nightly fuzz run {} corpus/{} -- -max_total_time=$seconds -rss_limit_mb=4096 \
        > logs/{}.log 2>&1 || echo '{}: FAILED, see fuzz/logs/{}.log'"
for t in $targets; do
    runs=$(grep -o 'Done [0-9]* runs' "logs/$t.log" | tail -1 || true)
    echo "$t: ${runs:-no summary (crashed?)}"
done
