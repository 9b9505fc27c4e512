#!/bin/bash
# usage: bench/compare.sh BINARY LABEL
# Serves a fresh copy of /tmp/bench-seed/bench.db (made once with
# `madoguchi seed --threads 20000 --posts-per-thread 5`) with BINARY and runs
# the queue, search and create loads against it, so two builds are compared on
# the same data on the same day.
set -e
BIN=$(realpath "$1"); LABEL=$2
REPO=$(cd "$(dirname "$0")/.." && pwd)
rm -rf /tmp/bench-$LABEL; mkdir -p /tmp/bench-$LABEL; cp /tmp/bench-seed/bench.db* /tmp/bench-$LABEL/
cd /tmp/bench-$LABEL
DATABASE_URL="sqlite:///tmp/bench-$LABEL/bench.db?mode=rwc" MADOGUCHI_LISTEN=127.0.0.1:18181 MADOGUCHI_LOG=warn MADOGUCHI_ADMIN_PASSWORD=bench-admin-password-1 MADOGUCHI_TOKEN_TTL_SECONDS=3600 MADOGUCHI_USER_RATE_PER_MINUTE=0 $BIN > server.log 2>&1 &
PID=$!
for i in $(seq 1 50); do curl -fs localhost:18181/healthz >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -fsS -X POST localhost:18181/v1/auth/login -H 'Content-Type: application/json' -d '{"email":"admin@localhost","password":"bench-admin-password-1"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
ORG=$(curl -fsS "localhost:18181/v1/organizations?limit=1" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys;print(json.load(sys.stdin)["items"][0]["id"])')
export TOKEN ORG
cd "$REPO"
echo "== $LABEL queue c=8"; wrk -t2 -c8 -d10s -s bench/get.lua http://127.0.0.1:18181/v1/queue | grep -E "Requests/sec|p95|p99|non-200"
echo "== $LABEL search c=8"; PATHS="/v1/search?q=%E4%BA%88%E7%B4%84 /v1/search?q=%E9%9B%BB%E5%AD%90%E3%82%AB%E3%83%AB%E3%83%86 /v1/search?q=FAX" wrk -t2 -c8 -d10s -s bench/get.lua http://127.0.0.1:18181/ | grep -E "Requests/sec|p95|p99|non-200"
echo "== $LABEL create c=16"; wrk -t2 -c16 -d10s -s bench/create_thread.lua http://127.0.0.1:18181/v1/threads | grep -E "Requests/sec|p95|p99|non-200"
kill $PID
