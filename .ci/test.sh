#!/usr/bin/env bash
# test.sh [BUILD_DIR [CMAKE_ARG...]] - configures and builds Blip in BUILD_DIR (default: build,
# relative to the current directory), then runs every test with ctest inside a private network
# namespace (.ci/in-netns.sh). Release unless a CMAKE_BUILD_TYPE is given; under CI=true,
# -DBLIP_WERROR=ON is always added.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
shift || true

args=("$@")
if [[ " ${args[*]} " != *" -DCMAKE_BUILD_TYPE="* ]]; then
    args=(-DCMAKE_BUILD_TYPE=Release "${args[@]}")
fi
if [[ "${CI:-}" == true ]]; then
    args+=(-DBLIP_WERROR=ON)
fi

cmake -S "$root" -B "$build" "${args[@]}"
cmake --build "$build" -j2
sh "$root/.ci/in-netns.sh" ctest --test-dir "$build" --output-on-failure -j2 --timeout 1800
