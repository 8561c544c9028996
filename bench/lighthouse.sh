#!/bin/sh
# Lighthouse 12 (headless Chromium) on the five pages of the SEO issue; prints each page's category scores and
# every weighted audit that did not pass. Not a test: it needs node and a running instance.
#   npm install --prefix /work/lh lighthouse@12          # once, outside the repository
#   make run   (or: feedsvc serve --demo --port 5071)    # then, in another shell:
#   LIGHTHOUSE=/work/lh/node_modules/.bin/lighthouse sh bench/lighthouse.sh http://127.0.0.1:5000
#   sh bench/lighthouse.sh --smoke URL      # one page (/ru/): proves the script runs (tests/test_bench.py)
set -eu
PAGES=all
if [ "${1:-}" = "--smoke" ]; then PAGES=smoke; shift; fi
BASE=${1:-http://127.0.0.1:5000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
LIGHTHOUSE=${LIGHTHOUSE:-lighthouse}
RELEASE=$(curl -s "$BASE/en/" | grep -o '/en/releases/[^"]*' | head -n 1)
if [ "$PAGES" = smoke ]; then set -- /ru/; else set -- /ru/ /kk/ /en/ "$RELEASE" "/en/search?q=Senate"; fi
for path in "$@"; do
  report="$OUT/$(echo "$path" | tr '/?=' '___').json"
  CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium} "$LIGHTHOUSE" "$BASE$path" --quiet \
    --chrome-flags="--headless=new --no-sandbox" --output=json --output-path="$report"
  node -e '
    const [report, path] = process.argv.slice(1), r = require(report), c = r.categories;
    console.log(path, Object.keys(c).map(k => `${k}=${Math.round(c[k].score * 100)}`).join(" "));
    for (const k of Object.keys(c)) for (const a of c[k].auditRefs) {
      const x = r.audits[a.id];
      if (a.weight > 0 && x.score !== null && x.score < 1) console.log("   ", k, a.id, x.score);
    }' "$report" "$path"
done
