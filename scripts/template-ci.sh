#!/usr/bin/env bash
# CI proof of templates/<app> (and so of `pnpm starter`, which writes them): every template is
# first checked to be exactly what its app exports now (`pnpm templates --check`), then copied
# alone into an empty temporary directory, outside this workspace, where it must stand with plain
# npm, as `npm create cloudflare -- --template=...` or a Deploy button would use it:
#
#   npm ci                               its package-lock.json, which must match its package.json
#   npm test                             its tests, inside workerd
#   npm run typecheck                    wrangler types --check, then tsc --noEmit
#   npm run lint                         the copied eslint config (with the vendored rules) and prettier
#   npm run check                        the Durable Object config check, tsc, wrangler deploy --dry-run
#
# Browser tests (test:e2e) are not run here: they need Chromium and run in the monorepo; the
# template keeps the script and the test files unchanged. Usage: scripts/template-ci.sh [app ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=toolchain.sh
source scripts/toolchain.sh
export CI=true
export WRANGLER_SEND_METRICS=false
export DO_NOT_TRACK=1
export NO_COLOR=1

apps=("$@")
if [ ${#apps[@]} -eq 0 ]; then
  for dir in apps/*/; do
    [ -f "$dir/package.json" ] && apps+=("$(basename "$dir")")
  done
fi

node scripts/templates.mjs --check "${apps[@]}"

work="$(mktemp -d "${TMPDIR:-/tmp}/template-ci.XXXXXX")"
trap 'rm -rf "$work"' EXIT

started=$SECONDS
for app in "${apps[@]}"; do
  app_started=$SECONDS
  target="$work/my-$app"
  step() { printf '\n==> [%s] %s\n' "$app" "$*"; }

  step "templates/$app copied alone to $target"
  # Only what git tracks: what a user of the template gets, whatever this checkout holds besides.
  mkdir -p "$target"
  git ls-files -z "templates/$app" | while IFS= read -r -d '' file; do
    mkdir -p "$target/$(dirname "${file#templates/$app/}")"
    cp "$file" "$target/${file#templates/$app/}"
  done
  cd "$target"

  step "npm ci (npm $(npm --version), node $(node --version))"
  npm ci --no-audit --no-fund
  if ! npm_config_loglevel=silent npm install-scripts ls 2>/dev/null | grep -q "^No packages"; then
    # npm 11.16+ lists install scripts package.json does not allow (npm 12 skips them).
    npm install-scripts ls 2>/dev/null || true
  fi

  step "npm test"
  npm test

  step "npm run typecheck"
  npm run typecheck

  step "npm run lint"
  npm run lint

  step "npm run check (config check, tsc, wrangler deploy --dry-run)"
  npm run check

  cd - >/dev/null
  rm -rf "$target"
  printf '\n==> [%s] template alone: npm ci, test, typecheck, lint, check and dry-run deploy passed in %ss\n' "$app" $((SECONDS - app_started))
done
printf '\ntemplate-ci: %d template(s) current and proven standalone in %ss: %s\n' "${#apps[@]}" $((SECONDS - started)) "${apps[*]}"
