#!/usr/bin/env bash
# Tile serving benchmark: the real server on 127.0.0.1 with 1,000,000 demo
# observations, driven by oha over a fixed list of hexagon tiles at zoom
# 9–16 across Södertälje, each with a live time filter — with and without
# `Accept-Encoding: gzip`, with the tile cache and without it — against the
# same server answering a static 1 KiB response (the ceiling).
#
#   benches/tiles.sh                 # N=1000000, 15 s per scenario, 32 connections
#   N=200000 SECONDS_EACH=5 benches/tiles.sh
#
# Installs oha with `cargo install` when it is missing. Prints one line per
# scenario: requests/s, p50 and p99 latency, and the server's memory.
set -euo pipefail

N=${N:-1000000}
SECONDS_EACH=${SECONDS_EACH:-15}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18181}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v oha >/dev/null || cargo install oha --locked
cargo build --release --manifest-path "$ROOT/Cargo.toml" -q
BIN="$ROOT/target/release/trygg"

echo "== $N demo observations"
"$BIN" demo-data --count "$N" --seed 1 --out "$WORK/demo.csv" >/dev/null
"$BIN" import "$WORK/demo.csv" --data-dir "$WORK/data" >/dev/null 2>&1

# ~500 tiles: at each zoom the tiles over the town (17.55–17.70 E,
# 59.15–59.23 N), at most 14 × 14 around its middle.
awk -v port="$PORT" 'function tx(lon, z) { return int((lon + 180) / 360 * 2^z) }
function ty(lat, z,  r) { r = lat * 3.141592653589793 / 180
  return int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / 3.141592653589793) / 2 * 2^z) }
BEGIN {
  for (z = 9; z <= 16; z++) {
    x0 = tx(17.55, z); x1 = tx(17.70, z); y0 = ty(59.23, z); y1 = ty(59.15, z)
    cx = int((x0 + x1) / 2); cy = int((y0 + y1) / 2)
    if (x1 - x0 > 13) { x0 = cx - 7; x1 = cx + 6 }
    if (y1 - y0 > 13) { y0 = cy - 7; y1 = cy + 6 }
    for (x = x0; x <= x1; x++) for (y = y0; y <= y1; y++)
      printf "http://127.0.0.1:%d/tiles/hexagons/%d/%d/%d.mvt?from=2025-11-01\n", port, z, x, y
  }
}' > "$WORK/urls.txt"
echo "== $(wc -l < "$WORK/urls.txt") tile URLs, zoom 9-16, ${SECONDS_EACH}s x ${CONNECTIONS} connections each"

serve() { # cache MiB
  "$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --bench-ceiling \
    --tile-cache-mb "$1" --analysis-schedule off --log warn >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "the server did not start:"; cat "$WORK/serve.log"; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }
rss() { awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVER/status"; }
run() { # label, then oha arguments; prints one line, keeps requests/s in $RPS
  local label=$1; shift
  oha --no-tui --output-format json -z "${SECONDS_EACH}s" -c "$CONNECTIONS" "$@" > "$WORK/out.json"
  python3 - "$label" "$(rss)" "$WORK/out.json" <<'PY'
import json, sys
label, rss, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
print(f"{label:<34} {s['requestsPerSec']:>9.0f} req/s   p50 {p['p50'] * 1000:6.2f} ms   p99 {p['p99'] * 1000:6.2f} ms   rss {rss}   status {codes}")
PY
  RPS=$(python3 -c "import json; print(round(json.load(open('$WORK/out.json'))['summary']['requestsPerSec']))")
}

echo "== with the tile cache"
serve 256
run "static 1 KiB (ceiling)" --disable-compression "http://127.0.0.1:$PORT/bench/ceiling"
FIRST=$RPS
# One pass fills the cache.
while read -r url; do curl -s -o /dev/null "$url"; curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$url"; done < "$WORK/urls.txt"
# The ceiling wanders by ±10 % between runs on a shared machine: measure it
# again after the cached runs and compare with the mean of the two.
run "cached tiles" --disable-compression --urls-from-file "$WORK/urls.txt"
CACHED=$RPS
run "cached tiles, gzip" -H "Accept-Encoding: gzip" --urls-from-file "$WORK/urls.txt"
CACHED_GZ=$RPS
run "static 1 KiB (ceiling, again)" --disable-compression "http://127.0.0.1:$PORT/bench/ceiling"
python3 -c "c = ($FIRST + $RPS) / 2; print(f'cached / mean ceiling ({c:.0f} req/s): plain {100 * $CACHED / c:.0f} %, gzip {100 * $CACHED_GZ / c:.0f} %')"
stop

echo "== without the tile cache (every tile computed, live time filter)"
serve 0
run "static 1 KiB (ceiling)" --disable-compression "http://127.0.0.1:$PORT/bench/ceiling"
run "uncached tiles" --disable-compression --urls-from-file "$WORK/urls.txt"
run "uncached tiles, gzip" -H "Accept-Encoding: gzip" --urls-from-file "$WORK/urls.txt"
stop
