#!/usr/bin/env bash
# Refreshes the front-end assets we vendor from the npm registry, at pinned versions.
# There is no front-end build step: the files are committed and embedded in the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

GOVUK_FRONTEND=6.6.0
HTMX=2.0.11
AXE_CORE=4.14.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "govuk-frontend@$GOVUK_FRONTEND" "htmx.org@$HTMX" "axe-core@$AXE_CORE" >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "$work/$(basename "$tarball" .tgz)"
  tar -xzf "$tarball" -C "$work/$(basename "$tarball" .tgz)"
done

web=crates/web/assets/vendor
rm -rf "$web" && mkdir -p "$web/govuk" "$web/htmx"
govuk="$work/govuk-frontend-$GOVUK_FRONTEND/package/dist/govuk"
# The GDS Transport font is licensed for GOV.UK only, and we are a partnership's service, not
# GOV.UK: drop its @font-face rules so text falls back to Arial, as the Design System advises.
sed -E 's/@font-face\{[^}]*\}//g' "$govuk/govuk-frontend.min.css" > "$web/govuk/govuk-frontend.min.css"
cp "$govuk/govuk-frontend.min.js" "$web/govuk/"
mkdir -p "$web/govuk/images"
cp "$govuk/assets/images/favicon.ico" "$govuk/assets/images/favicon.svg" "$web/govuk/images/"
printf 'govuk-frontend %s from the npm registry, MIT licence (see its package.json).\nhttps://github.com/alphagov/govuk-frontend\n' "$GOVUK_FRONTEND" > "$web/govuk/LICENSE.txt"
cp "$work/htmx.org-$HTMX/package/dist/htmx.min.js" "$web/htmx/"
cp "$work/htmx.org-$HTMX/package/LICENSE" "$web/htmx/LICENSE"

# axe-core is only for the browser tests' accessibility checks.
tests=crates/earlyhelp/tests/app/vendor
mkdir -p "$tests"
cp "$work/axe-core-$AXE_CORE/package/axe.min.js" "$tests/axe.min.js"
cp "$work/axe-core-$AXE_CORE/package/LICENSE" "$tests/axe-core-LICENSE"

echo "vendored govuk-frontend $GOVUK_FRONTEND, htmx $HTMX, axe-core $AXE_CORE"
