#!/usr/bin/env bash
# Makes Node >= 22.12 and pnpm available, from the npm registry only.
#
#   source scripts/toolchain.sh     # then `node` and `pnpm` are on PATH
#
# Why: wrangler 4 and @cloudflare/vitest-plugin need Node >= 22.12. Many machines still have
# Node 20. The npm registry ships Node itself as the `node` package, so we install it into
# .tools/ (git-ignored) when the machine's Node is too old. corepack's signature check fails
# against some registries, so pnpm is installed with npm as well, pinned to package.json's
# packageManager.

_dp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dp_tools="$_dp_root/.tools"

_dp_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! _dp_node_ok; then
  if [ ! -x "$_dp_tools/node_modules/node/bin/node" ]; then
    echo "toolchain: installing Node 22 into .tools/ (machine has $(node --version 2>/dev/null || echo none))" >&2
    npm install --silent --no-audit --no-fund --prefix "$_dp_tools" node@22 >&2
  fi
  export PATH="$_dp_tools/node_modules/node/bin:$_dp_tools/node_modules/.bin:$PATH"
fi

_dp_pnpm_version="$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$_dp_root/package.json")"
if [ "$(pnpm --version 2>/dev/null)" != "$_dp_pnpm_version" ]; then
  if [ ! -x "$_dp_tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$_dp_tools/pnpm/node_modules/.bin/pnpm" --version)" != "$_dp_pnpm_version" ]; then
    echo "toolchain: installing pnpm $_dp_pnpm_version into .tools/pnpm" >&2
    npm install --silent --no-audit --no-fund --prefix "$_dp_tools/pnpm" "pnpm@$_dp_pnpm_version" >&2
  fi
  export PATH="$_dp_tools/pnpm/node_modules/.bin:$PATH"
fi

echo "toolchain: node $(node --version), pnpm $(pnpm --version)" >&2
unset -f _dp_node_ok
unset _dp_root _dp_tools _dp_pnpm_version
