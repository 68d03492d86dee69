#!/usr/bin/env bash
# Load test: cold start, idle memory, and requests/s with latency percentiles of the party
# list page and the party search API at 100k parties with 64 concurrent clients.
#
#   loadtest/run.sh sqlite      # embedded database in a temporary directory
#   loadtest/run.sh postgres    # database zs_load on postgres://postgres@127.0.0.1:5432
#
# Needs the release binary (cargo build --release) and wrk (apt-get install wrk). Every
# request goes to 127.0.0.1 only; each wrk run is bounded by DURATION (default 20 s).
set -euo pipefail
kind="${1:-sqlite}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$root/target}/release/zhongshu"
duration="${DURATION:-20s}"
scale="${SCALE:-334}"   # 334 × 300 = 100,200 parties
port=$((30000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
data="$(mktemp -d)"
[ -x "$bin" ] || { echo "build the release binary first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

case "$kind" in
  sqlite) url="sqlite://$data/zhongshu.db?mode=rwc" ;;
  postgres)
    admin_url="postgres://postgres@127.0.0.1:5432/test"
    psql "$admin_url" -q -c "DROP DATABASE IF EXISTS zs_load" -c "CREATE DATABASE zs_load"
    url="postgres://postgres@127.0.0.1:5432/zs_load" ;;
  *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

serve() {
  ZHONGSHU_ADMIN_PASSWORD=load-test-password "$bin" --database-url "$url" serve --addr "127.0.0.1:$port" >"$data/server.log" 2>&1 &
  pid=$!
  until curl -fsS "$base/healthz" >/dev/null 2>&1; do sleep 0.005; done
}

echo "== $kind: cold start to the first /healthz 200 (empty database, migrations included)"
t0=$(date +%s%N); serve; t1=$(date +%s%N)
echo "cold start: $(( (t1 - t0) / 1000000 )) ms"
sleep 2
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

echo "== seeding $((scale * 300)) parties"
t0=$(date +%s)
"$bin" --database-url "$url" seed --demo --scale "$scale" >/dev/null
echo "seeded in $(( $(date +%s) - t0 )) s"

serve
token=$("$bin" --database-url "$url" token create admin --name load 2>/dev/null)
jar="$data/cookies"
csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fsS -b "$jar" -c "$jar" -o /dev/null -d "_csrf=$csrf&login=admin&password=load-test-password&next=/" "$base/login"
session=$(awk '$6 == "zs_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }
echo "RSS with 100k parties, before load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"

q=$(printf '华信' | od -An -tx1 | tr ' ' '%' | tr -d '\n' | tr 'a-f' 'A-F')
run() {
  echo "== $1"
  wrk -t2 -c64 -d"$duration" --latency "${@:2}" | grep -E "Requests/sec|Latency  |  50%|  99%|Non-2xx|Socket errors"
}
run "party list page (HTML, first page by name)" -H "Cookie: zs_session=$session" "$base/parties"
run "party list page, search q=华信" -H "Cookie: zs_session=$session" "$base/parties?q=$q"
run "GET /api/v1/parties?q=华信" -H "Authorization: Bearer $token" "$base/api/v1/parties?q=$q"
run "GET /api/v1/parties (first page)" -H "Authorization: Bearer $token" "$base/api/v1/parties"
echo "RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
