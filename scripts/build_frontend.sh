#!/usr/bin/env bash
# Builds the browser assets paperboy serves itself (no CDN): every frontend/<name>/ folder is an npm project
# with a committed package-lock.json; `npm ci` installs it from the npm registry and, when package.json has a
# "build" script, `npm run build` writes its output under paperboy/web/static/dist/<name>/ (git-ignored, rebuilt here).
# Idempotent: a folder whose lock file and sources did not change since its last build is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d frontend ] || exit 0
for dir in frontend/*/; do
  [ -f "$dir/package.json" ] || continue
  name=$(basename "$dir")
  stamp="$dir/node_modules/.paperboy-build-stamp"
  sum=$(cd "$dir" && find . -path ./node_modules -prune -o -type f -print | sort | xargs sha256sum | sha256sum | cut -c1-64)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then continue; fi
  echo "build_frontend: $name" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  if node -e "process.exit(require('./$dir/package.json').scripts?.build ? 0 : 1)"; then
    (cd "$dir" && npm run --silent build >/dev/null)
  fi
  echo "$sum" > "$stamp"
done
