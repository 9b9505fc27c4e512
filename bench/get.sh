#!/bin/bash
# usage: [AS=clinic] [PATHS="/p1 /p2 …"] bench/get.sh BINARY DATABASE_URL [PATH]
# Serves DATABASE_URL (a seeded database: `madoguchi seed --threads 100000
# --posts-per-thread 5`) with BINARY on port 18182 and measures GETs with wrk:
# 10 s at c=1, then 10 s at c=8, after a 3 s warm-up. PATH defaults to
# /v1/queue (a page of 50); with PATHS the requests go round those paths.
# AS=clinic signs in as a customer of the first clinic (created on first use)
# instead of the admin. Prints requests/s and p50/p95/p99 for each.
set -e
BIN=$(realpath "$1"); URL=$2; P=${3:-/v1/queue}
REPO=$(cd "$(dirname "$0")/.." && pwd)
LOG=$(mktemp)
DATABASE_URL="$URL" MADOGUCHI_LISTEN=127.0.0.1:18182 MADOGUCHI_LOG=warn \
  MADOGUCHI_ADMIN_PASSWORD=bench-admin-password-1 MADOGUCHI_TOKEN_TTL_SECONDS=3600 \
  MADOGUCHI_USER_RATE_PER_MINUTE=0 "$BIN" > "$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for i in $(seq 1 100); do curl -fs localhost:18182/readyz >/dev/null && break; sleep 0.2; done
login() {
  curl -fsS -X POST localhost:18182/v1/auth/login -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'
}
TOKEN=$(login admin@localhost bench-admin-password-1)
if [ "$AS" = clinic ]; then
  ORG=$(curl -fsS "localhost:18182/v1/organizations?limit=1" -H "Authorization: Bearer $TOKEN" \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["items"][0]["id"])')
  curl -s -o /dev/null -X POST localhost:18182/v1/users -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench-clinic@example.jp\",\"display_name\":\"事務長 ベンチ\",\"role\":\"customer\",\"organization_id\":\"$ORG\",\"password\":\"bench-clinic-password-1\"}"
  TOKEN=$(login bench-clinic@example.jp bench-clinic-password-1)
fi
export TOKEN PATHS
cd "$REPO"
wrk -t1 -c1 -d3s -s bench/get.lua "http://127.0.0.1:18182$P" > /dev/null
for c in 1 8; do
  t=$((c < 2 ? 1 : 2))
  echo "== ${PATHS:-$P} c=$c ${AS:-admin}"
  wrk -t$t -c$c -d10s -s bench/get.lua "http://127.0.0.1:18182$P" | grep -E "Requests/sec|p50|p95|p99|non-200"
done
