#!/usr/bin/env bash
# run_tests.sh - the `python_binding` ctest: installs a Blip build tree into a temporary prefix
# with `cmake --install`, then
#   1. runs the binding's unittest suite against the INSTALLED library (BLIP_LIBRARY), with the
#      package from the source tree (PYTHONPATH);
#   2. checks the lookup without BLIP_LIBRARY: by SONAME through LD_LIBRARY_PATH;
#   3. if venv, pip, setuptools and wheel are available: `pip install --no-build-isolation
#      --no-index` of a copy of the package into a temporary venv, imports it from there and
#      runs the suite again with it; then installs it into the same prefix as the library
#      (`pip install --prefix`) and checks that it finds the library there by itself.
#      Skipped with a message otherwise.
# Tests that send multicast skip unless BLIP_NETNS is set (ctest runs inside .ci/in-netns.sh).
#
# Sanitizer builds: a libblip built with ASan needs the ASan runtime loaded first, so python
# runs with LD_PRELOAD of the runtime the library links (found with ldd) and leak detection
# off (the interpreter keeps memory until exit by design). A library that needs a runtime it
# does not link (clang's static runtime) makes the test skip with a message.
#
# Environment (set by CMakeLists.txt): BLIP_BUILD_DIR (required), BLIP_SOURCE_DIR (required),
# BLIP_PYTHON (python3, empty if not found: skip), BLIP_CMAKE, BLIP_CONFIG, CC.
# Exit status: 0 passed, 77 skipped, anything else failed. Everything is removed on exit.
set -euo pipefail

: "${BLIP_BUILD_DIR:?BLIP_BUILD_DIR must name the build tree}"
: "${BLIP_SOURCE_DIR:?BLIP_SOURCE_DIR must name the source tree}"
python=${BLIP_PYTHON:-}
cmake_bin=${BLIP_CMAKE:-cmake}
binding=$BLIP_SOURCE_DIR/bindings/python

skip() {
    echo "skipped: $*"
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

if [[ -z "$python" ]] || ! command -v "$python" >/dev/null 2>&1; then
    skip "python3 not found (on Debian: apt-get install python3)"
fi
"$python" -c 'import ctypes, asyncio, unittest' || skip "$python lacks ctypes/asyncio/unittest"
echo "python: $("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blip-python-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# ---- Install --------------------------------------------------------------------------------
install_args=(--install "$BLIP_BUILD_DIR" --prefix "$prefix")
if [[ -n "${BLIP_CONFIG:-}" ]]; then install_args+=(--config "$BLIP_CONFIG"); fi
if ! "$cmake_bin" "${install_args[@]}" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "cmake --install $BLIP_BUILD_DIR failed"
fi
library=$(find "$prefix" -name 'libblip.so.[0-9]*' -type l | sort | head -n 1)
[[ -n "$library" ]] || fail "no libblip.so.MAJOR link installed under $prefix"
libdir=$(dirname "$library")
echo "installed library: $library"

# ---- Sanitizer runtime ----------------------------------------------------------------------
preload=""
asan_runtime=$(ldd "$library" | awk '/lib(asan|clang_rt\.asan)[^ ]*\.so/ { print $3; exit }')
if [[ -n "$asan_runtime" ]]; then
    [[ -f "$asan_runtime" ]] || skip "libblip links an ASan runtime ldd cannot resolve"
    preload=$asan_runtime
    echo "ASan build: python runs with LD_PRELOAD=$preload and leak detection off"
elif nm -D --undefined-only "$library" 2>/dev/null | grep -q ' __asan_init'; then
    skip "libblip needs an ASan runtime it does not link (clang's static runtime?); python" \
        "cannot load it: the binding is tested in the non-sanitizer build"
fi

# Runs python with the sanitizer runtime first, when there is one. Never writes bytecode into
# the source tree.
run_python() {
    if [[ -n "$preload" ]]; then
        LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}" \
            ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            PYTHONDONTWRITEBYTECODE=1 "$@"
    else
        PYTHONDONTWRITEBYTECODE=1 "$@"
    fi
}

# ---- 1. The suite, against the installed library ---------------------------------------------
echo "== unittest suite (package from the source tree, library from the install prefix)"
cd "$tmp"
BLIP_LIBRARY=$library BLIP_EXPECT_LIBRARY=$library PYTHONPATH=$binding \
    run_python "$python" -m unittest discover -s "$binding/tests" -v ||
    fail "the unittest suite failed"

# ---- 2. Lookup by SONAME, no override --------------------------------------------------------
echo "== lookup by SONAME through LD_LIBRARY_PATH"
found=$(unset BLIP_LIBRARY && LD_LIBRARY_PATH="$libdir" PYTHONPATH="$binding" \
    run_python "$python" -c 'import blip; print(blip.library_path)') ||
    fail "import blip with LD_LIBRARY_PATH=$libdir failed"
[[ "$(realpath "$found")" == "$(realpath "$library")" ]] ||
    fail "import blip loaded $found, not the installed $library"
echo "loaded $found"

# ---- 3. pip install into a venv, offline ------------------------------------------------------
echo "== pip install --no-build-isolation --no-index into a venv"
if ! "$python" -m venv --system-site-packages "$tmp/venv" >"$tmp/venv.log" 2>&1; then
    sed 's/^/  /' "$tmp/venv.log"
    echo "pip part skipped: cannot create a venv with pip (on Debian 12: apt-get install" \
        "python3-venv python3-wheel)"
    echo "PASS (without the pip part)"
    exit 0
fi
venv_python=$tmp/venv/bin/python
if ! "$venv_python" -c 'import setuptools, wheel' 2>/dev/null; then
    echo "pip part skipped: the venv lacks setuptools or wheel, which an offline build with" \
        "--no-build-isolation needs (on Debian 12: apt-get install python3-venv python3-wheel)"
    echo "PASS (without the pip part)"
    exit 0
fi
# pip builds in the tree it is given: build a copy, never the source tree.
mkdir "$tmp/src"
cp -R "$binding/pyproject.toml" "$binding/README.md" "$binding/blip" "$tmp/src/"
rm -rf "$tmp/src/blip/__pycache__"
"$venv_python" -m pip install --no-build-isolation --no-index --disable-pip-version-check \
    "$tmp/src" >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; fail "pip install failed"; }
sed -n 's/^Successfully installed/pip: &/p' "$tmp/pip.log"
imported=$(BLIP_LIBRARY=$library run_python "$venv_python" -c \
    'import blip; print(blip.__file__); print(blip.__version__, blip.library_version)') ||
    fail "import blip from the venv failed"
echo "$imported"
[[ "$imported" == "$tmp/venv/"* ]] || fail "blip was not imported from the venv"
echo "== unittest suite again, with the pip-installed package"
BLIP_LIBRARY=$library run_python "$venv_python" -m unittest discover -s "$binding/tests" ||
    fail "the unittest suite failed with the pip-installed package"

echo "== pip install --prefix into the library's prefix: found without any hint"
"$venv_python" -m pip install --no-build-isolation --no-index --disable-pip-version-check \
    --prefix "$prefix" --no-warn-script-location "$tmp/src" >"$tmp/pip-prefix.log" 2>&1 ||
    { cat "$tmp/pip-prefix.log" >&2; fail "pip install --prefix failed"; }
site=$(dirname "$(find "$prefix" -path '*-packages/blip/__init__.py' | head -n 1)")
[[ -n "$site" && "$site" != . ]] || fail "pip install --prefix put no blip package under $prefix"
found=$(cd / && unset BLIP_LIBRARY LD_LIBRARY_PATH && PYTHONPATH="$(dirname "$site")" \
    run_python "$python" -c 'import blip; print(blip.library_path)') ||
    fail "the package installed in $prefix does not find the library installed there"
[[ "$(realpath "$found")" == "$(realpath "$library")" ]] ||
    fail "the package in $prefix loaded $found, not $library"
echo "loaded $found"
echo "PASS"
