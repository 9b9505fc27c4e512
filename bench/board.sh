#!/usr/bin/env bash
# The board's pages under load, as a signed-in agent's browsers ask for them.
#   bench/board.sh http://127.0.0.1:8080 <email> <password>
# Signs in through the login form (pre-session cookie + CSRF token), then runs
# wrk on the queue and the thread list with the session cookie, and prints
# each page's size with its stylesheet (the whole transfer: no script, no
# images, no fonts are fetched). Start the server with
# MADOGUCHI_USER_RATE_PER_MINUTE=0: one person's browser at thousands of pages
# a second is what the per-person rate limit exists to refuse.
set -euo pipefail
BASE=${1:?base url} EMAIL=${2:?email} PASSWORD=${3:?password}
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
CSRF=$(curl -fsS -c "$JAR" "$BASE/login" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
curl -fsS -o /dev/null -b "$JAR" -c "$JAR" -H 'Sec-Fetch-Site: same-origin' \
  --data-urlencode "csrf=$CSRF" --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" "$BASE/login"
COOKIE=$(awk '$6 ~ /madoguchi_session$/ {print $6 "=" $7}' "$JAR")
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 1; }
export COOKIE
for path in ${PATHS:-/queue /threads}; do
  html=$(curl -sS -o /dev/null -w '%{size_download}' -H "Cookie: $COOKIE" "$BASE$path")
  css=$(curl -sS -o /dev/null -w '%{size_download}' "$BASE/assets/board.css")
  echo "== $path: page $html B + stylesheet $css B = $((html + css)) B"
  for c in 1 8; do
    echo "-- c=$c"
    wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECONDS_EACH:-10}"s -s "$(dirname "$0")/page.lua" "$BASE$path" | grep -E "Requests/sec|non-200|^p(50|95|99)"
  done
done
