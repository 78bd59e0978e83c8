#!/usr/bin/env bash
# Quick start: `bash run.sh demo` serves the demo page (apps/demo) on http://localhost:4173, `bash run.sh
# demo-compress` prints one layer's Deep Compression breakdown, `bash run.sh test` runs every check and test.
# Each first installs what it needs (tooling/scripts/setup.sh): pnpm, the packages, and Mesa's
# software Vulkan driver when no WebGPU adapter exists.
set -euo pipefail
cd "$(dirname "$0")"
bash tooling/scripts/setup.sh
case "${1:-}" in
  demo) shift; pnpm demo "$@" ;;
  demo-compress) pnpm demo:compress ;;
  bench) shift; pnpm bench "$@" ;;
  test) pnpm check ;;
  *) echo "usage: bash run.sh demo [vite preview options] | demo-compress | bench [options] | test" >&2; exit 2 ;;
esac
