#!/bin/sh
# Screenshot the inspector's pages with a headless browser (Debian: apt-get install -y chromium).
# With a bearer token (a script has no browser session: docs/architecture.md, browser sign-in),
# fetch the pages with curl and let chromium render the saved HTML.
#
#   export TOKEN=$(carelog token --role inspector --subject hmi-1)
#   docs/inspect-screenshot.sh http://127.0.0.1:8000 <child-id> [out-dir]
set -eu
BASE=${1:?base URL, e.g. http://127.0.0.1:8000}
CHILD=${2:?child id}
OUT=${3:-.}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
: "${TOKEN:?set TOKEN to an inspector's or manager's bearer token}"
mkdir -p "$OUT"
for page in "children/$CHILD" "kpis?months=12"; do
  name=$(echo "$page" | sed 's/[^a-z0-9]/-/g' | cut -c1-40)
  curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/inspect/$page" -o "$OUT/$name.html"
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1600 \
    --screenshot="$OUT/$name.png" "file://$(cd "$OUT" && pwd)/$name.html" 2>/dev/null
  echo "$OUT/$name.png"
done
