#!/usr/bin/env bash
# demo.sh [BUILD_DIR] - builds blip-demo (Release, in BUILD_DIR, default: build) and runs it:
# one sender and several receiver processes on loopback multicast with injected loss, then a
# report. It runs inside a private network namespace (.ci/in-netns.sh) when one can be made, so
# not even loopback multicast is visible outside; extra arguments go to blip-demo after `--`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
shift || true
[[ "${1:-}" == "--" ]] && shift

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target blip-demo
sh "$root/.ci/in-netns.sh" "$build/tools/blip-demo" "$@"
