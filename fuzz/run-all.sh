#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 600) each, JOBS
# (default 2) at a time, and prints the number of runs of each. New inputs
# go to corpus/<target>/, findings to artifacts/<target>/, output to logs/.
#
# Builds the targets as cargo-fuzz does, but needs neither cargo-fuzz nor a
# nightly toolchain: libFuzzer's coverage instrumentation is a stable
# codegen option; AddressSanitizer needs -Zsanitizer, which the stable
# compiler accepts with RUSTC_BOOTSTRAP=1. SANITIZER=none builds without
# it, and so does this script, saying so, if the ASan build fails.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
jobs=${JOBS:-2}
sanitizer=${SANITIZER:-address}
host=$(rustc -vV | sed -n 's/^host: //p')

# Flags cargo-fuzz uses (its `build` with the defaults).
coverage="-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks"

build() {
    # --target keeps the flags off build scripts and proc macros.
    RUSTFLAGS="$coverage $1" RUSTC_BOOTSTRAP=1 \
        cargo build --release --bins --target "$host" --target-dir target
}

mkdir -p logs
if [[ $sanitizer == address ]]; then
    if ! build "-Zsanitizer=address" >logs/build.log 2>&1; then
        echo "the AddressSanitizer build failed (see fuzz/logs/build.log); fuzzing without it" >&2
        sanitizer=none
    fi
fi
if [[ $sanitizer == none ]]; then
    build "" >logs/build.log 2>&1 || {
        cat logs/build.log >&2
        exit 1
    }
fi
echo "built with sanitizer: $sanitizer"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -vx trygg-fuzz)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
for t in $targets; do mkdir -p "corpus/$t" "artifacts/$t"; done
printf '%s\n' $targets | xargs -P "$jobs" -I{} sh -c \
    "target/$host/release/{} -max_total_time=$seconds -rss_limit_mb=4096 \
        -artifact_prefix=artifacts/{}/ corpus/{} > logs/{}.log 2>&1 \
        || echo '{}: FAILED, see fuzz/logs/{}.log'"
for t in $targets; do
    runs=$(grep -o 'Done [0-9]* runs' "logs/$t.log" | tail -1 || true)
    echo "$t: ${runs:-no summary (crashed?)}"
done
