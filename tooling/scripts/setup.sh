#!/usr/bin/env bash
# Installs what the project needs on Debian 12 with Node ≥ 20.19: pnpm, the workspace packages, Debian's
# Chromium for the demo's browser test (Playwright cannot download its own browsers here), and, when Dawn
# finds no WebGPU adapter, Mesa's lavapipe from bookworm-backports (Debian 12's own Mesa 22.3 is rejected
# by Dawn). Idempotent: a second run only verifies.
set -euo pipefail
cd "$(dirname "$0")/../.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing pnpm $want"
  npm install -g "pnpm@$want" >/dev/null 2>&1 || npm install -g "pnpm@$want"
fi
pnpm install --frozen-lockfile --reporter=silent
can_root() { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_get() { as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
install_lavapipe() {
  if ! can_root; then
    echo "setup: no WebGPU adapter, and installing Mesa lavapipe needs root; the CPU paths still work." >&2
    return 0
  fi
  echo "setup: no WebGPU adapter; installing Mesa lavapipe (software Vulkan) from bookworm-backports"
  if [ ! -f /etc/apt/sources.list.d/backports.sources ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    awk 'BEGIN{RS="";ORS="\n"} NR==1' /etc/apt/sources.list.d/debian.sources \
      | sed -e 's/^Suites:.*/Suites: bookworm-backports/' | as_root tee /etc/apt/sources.list.d/backports.sources >/dev/null
  fi
  apt_get update -qq
  apt_get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  node tooling/scripts/probe-adapter.mjs
}
node tooling/scripts/probe-adapter.mjs || install_lavapipe
if [ ! -x /usr/bin/chromium ]; then
  if can_root; then
    echo "setup: installing Debian's chromium (the demo's browser test drives it)"
    apt_get update -qq
    apt_get install -y -qq chromium >/dev/null
  else
    echo "setup: installing Debian's chromium needs root; the demo's browser test will fail without it." >&2
  fi
fi
# built packages, so that `pnpm zeroskip …` works right after set-up
pnpm build --output-logs=errors-only >/dev/null
