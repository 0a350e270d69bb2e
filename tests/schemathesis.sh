#!/usr/bin/env bash
# Schemathesis over the whole OpenAPI document of a real server: no 5xx, and
# every response's status code, content type and body as documented.
#
# Builds the binary, starts it on a free port over a temporary data directory
# with a small demo data set, makes an admin and an analyst token (each used
# for the operations its role may call), runs schemathesis with a bounded
# number of examples per operation and stops the server. Exits non-zero on
# any failure. Takes a few minutes.
#
#   tests/schemathesis.sh                 # as CI runs it
#   ST_MAX_EXAMPLES=100 ST_SEED=7 tests/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-15}
# A fixed seed by default, so that a CI failure can be reproduced.
SEED=${ST_SEED:-1}
VENV=${ST_VENV:-$PWD/target/schemathesis-$ST_VERSION}
# Schemathesis and Hypothesis keep their state (crashes for `st replay`,
# examples) in the working directory: this one, not the checkout.
STATE=$PWD/target/schemathesis

if [[ "$("$VENV/bin/st" --version 2>/dev/null)" != *"$ST_VERSION"* ]]; then
    # Hypothesis trips over a CPython 3.11 bug ("AST constructor recursion
    # depth mismatch"): take Python 3.12 or later where there is one.
    python=python3
    for candidate in python3.13 python3.12 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            python=$candidate
            break
        fi
    done
    echo "installing schemathesis $ST_VERSION into $VENV ($("$python" --version))"
    "$python" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

cargo build --quiet
TRYGG=target/debug/trygg

work=$(mktemp -d)
server=
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

data="$work/data"
ADMIN=$("$TRYGG" token create --role admin --data-dir "$data")
ANALYST=$("$TRYGG" token create --role analyst --data-dir "$data")
export ADMIN ANALYST

# No web directory: the document describes the API only, and the front end
# would run npm on first start.
"$TRYGG" serve --demo --demo-count 2000 --data-dir "$data" --listen 127.0.0.1:0 \
    --web-dir "$work/no-web" --analysis-schedule off --log warn \
    >"$work/server.log" 2>&1 &
server=$!
base=
for _ in $(seq 600); do
    base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n1 || true)
    [[ -n "$base" ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.1
done
[[ -n "$base" ]] || { echo "the server did not start"; cat "$work/server.log"; exit 1; }
echo "server at $base"

# Analysts read raw observations and analyses, admins everything else.
# Path parameters that name stored things get ids that exist, so that the
# handlers' logic is reached rather than a 404.
cat >"$work/schemathesis.toml" <<'EOF'
headers = { Authorization = "Bearer ${ADMIN}" }

[[operations]]
include-path-regex = '^/api/v1/(observations(/nearby|/\{id\})?|areas/\{id\}/analys[ei]s|analyses/\{id\})$'
include-method = "GET"
headers = { Authorization = "Bearer ${ANALYST}" }

[[operations]]
include-path-regex = '^/api/v1/areas/\{id\}'
parameters = { id = "hovsjo" }

[[operations]]
include-path = "/api/v1/cells/{cell}"
parameters = { cell = "88088645e9fffff" }
EOF

started=$(date +%s)
status=0
mkdir -p "$STATE"
(cd "$STATE" && "$VENV/bin/st" --no-color --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 \
    --request-timeout 60) || status=$?
echo "schemathesis: $(($(date +%s) - started)) s"
if grep -q 'panicked' "$work/server.log"; then
    echo "the server panicked:"
    grep -A3 'panicked' "$work/server.log"
    status=1
fi
exit "$status"
