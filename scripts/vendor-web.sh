#!/usr/bin/env bash
# Refreshes the front-end files Tollgate serves from its binaries, from the
# exact versions pinned in internal/webassets/npm/package-lock.json, and
# rewrites their checksums. Run it after changing a version there; commit
# internal/webassets/files and SHA256SUMS with the lockfile. Nothing is ever
# loaded from a CDN at run time: the binaries embed these files.
set -euo pipefail
cd "$(dirname "$0")/../internal/webassets"
npm ci --prefix npm --no-audit --no-fund --loglevel=error
copy() { # <file in node_modules> <name in files/>
  cp "npm/node_modules/$1" "files/$2"
}
copy redoc/bundles/redoc.standalone.js redoc.standalone.js
# Redoc's sidebar shows a "Redocly" logo from cdn.redoc.ly, the one thing
# it would load from another origin. Its <img> hides itself when the image
# fails, so the URL is emptied (an empty src fails without a request).
grep -q '"https://cdn.redoc.ly/redoc/logo-mini.svg"' files/redoc.standalone.js
sed -i 's|"https://cdn.redoc.ly/redoc/logo-mini.svg"|""|' files/redoc.standalone.js
copy redoc/LICENSE redoc.LICENSE
# htmx enhances the staff console (search as you type, in-place updates);
# every console page works without it.
copy htmx.org/dist/htmx.min.js htmx.min.js
copy htmx.org/LICENSE htmx.LICENSE
# axe-core is injected by the console's Chromium tests to check
# accessibility; no page loads it.
copy axe-core/axe.min.js axe.min.js
copy axe-core/LICENSE axe.LICENSE
(cd files && sha256sum -- * | LC_ALL=C sort -k2) > SHA256SUMS
echo "vendor-web: $(wc -l < SHA256SUMS) files checked into internal/webassets/files"
