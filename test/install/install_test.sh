#!/usr/bin/env bash
# install_test.sh pkgconfig|cmake - installs a Blip build tree into a temporary prefix with
# `cmake --install`, then builds test/install/consumer.c OUT OF TREE against the installed copy
# only: with the flags of `pkg-config blip` (mode pkgconfig) or as a CMake project that calls
# find_package(blip) and links blip::blip (mode cmake). Checks the installed files, the SONAME
# the program links (libblip.so.MAJOR, resolved inside the prefix) and runs the program.
#
# Environment (set by test/install/CMakeLists.txt): BLIP_BUILD_DIR (the build tree, required),
# BLIP_EXPECT_VERSION (the project version, required), BLIP_CONFIG (build config, optional),
# BLIP_CMAKE (cmake binary), BLIP_PKG_CONFIG (pkg-config binary), CC (C compiler),
# BLIP_EXTRA_FLAGS (compile and link flags, e.g. sanitizers the library was built with).
# Independent of the working directory; everything is removed on exit.
set -euo pipefail

mode=${1:-}
if [[ "$mode" != pkgconfig && "$mode" != cmake ]]; then
    echo "usage: install_test.sh pkgconfig|cmake" >&2
    exit 2
fi
: "${BLIP_BUILD_DIR:?BLIP_BUILD_DIR must name the build tree}"
: "${BLIP_EXPECT_VERSION:?BLIP_EXPECT_VERSION must give the project version}"
cmake_bin=${BLIP_CMAKE:-cmake}
pkg_config=${BLIP_PKG_CONFIG:-pkg-config}
cc=${CC:-cc}
read -r -a extra_flags <<<"${BLIP_EXTRA_FLAGS:-}"
major=${BLIP_EXPECT_VERSION%%.*}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blip-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
prefix=$tmp/prefix

# ---- Install ------------------------------------------------------------------------------------
install_args=(--install "$BLIP_BUILD_DIR" --prefix "$prefix")
if [[ -n "${BLIP_CONFIG:-}" ]]; then install_args+=(--config "$BLIP_CONFIG"); fi
if ! "$cmake_bin" "${install_args[@]}" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "cmake --install $BLIP_BUILD_DIR failed"
fi
echo "installed $BLIP_BUILD_DIR into $prefix"

# ---- What must be there -------------------------------------------------------------------------
for h in blip.h blip_uv.h version.h; do
    [[ -f "$prefix/include/blip/$h" ]] || fail "include/blip/$h not installed"
done
mapfile -t pcs < <(find "$prefix" -name blip.pc -path '*/pkgconfig/*')
[[ ${#pcs[@]} -eq 1 ]] || fail "expected one blip.pc under $prefix, found ${#pcs[@]}: ${pcs[*]:-}"
libdir=$(dirname "$(dirname "${pcs[0]}")")
soname=libblip.so.$major
[[ -L "$libdir/libblip.so" ]] || fail "$libdir/libblip.so is not a symlink (the dev link)"
[[ -e "$libdir/$soname" ]] || fail "$libdir/$soname (the SONAME link) not installed"
[[ -f "$libdir/libblip.so.$BLIP_EXPECT_VERSION" ]] || fail "libblip.so.$BLIP_EXPECT_VERSION missing"
lib_soname=$(readelf -d "$libdir/libblip.so.$BLIP_EXPECT_VERSION" |
    sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ "$lib_soname" == "$soname" ]] || fail "installed library has SONAME '$lib_soname', expected $soname"
[[ -f "$libdir/cmake/blip/blipConfig.cmake" ]] || fail "blipConfig.cmake not installed"
echo "installed library: $libdir/libblip.so.$BLIP_EXPECT_VERSION, SONAME $lib_soname"

mkdir "$tmp/src"
cp "$here/consumer.c" "$here/cmake_consumer/CMakeLists.txt" "$tmp/src/"

# Checks that `program` needs libblip.so.MAJOR (not the unversioned dev link) and that the
# dynamic loader, run under `env` with the arguments given after the program, resolves it to
# the installed library.
check_links() {
    local program=$1
    shift
    local needed
    needed=$(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(libblip[^]]*\)\].*/\1/p')
    [[ "$needed" == "$soname" ]] || fail "$program needs '$needed', expected $soname"
    local resolved
    resolved=$(env "$@" ldd "$program" | awk -v so="$soname" '$1 == so { print $3 }')
    [[ -n "$resolved" && "$resolved" != "not" ]] || fail "ldd cannot resolve $soname for $program"
    [[ "$(realpath "$resolved")" == "$(realpath "$libdir/libblip.so.$BLIP_EXPECT_VERSION")" ]] ||
        fail "$program loads $resolved, not the installed $libdir/$soname"
    echo "$(basename "$program") needs $needed, resolved to $resolved"
}

# ---- Consumer ------------------------------------------------------------------------------------
case "$mode" in
pkgconfig)
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    version=$("$pkg_config" --modversion blip) || fail "pkg-config does not find blip.pc"
    [[ "$version" == "$BLIP_EXPECT_VERSION" ]] || fail "blip.pc says version $version"
    read -r -a cflags <<<"$("$pkg_config" --cflags blip)"
    read -r -a libs <<<"$("$pkg_config" --libs blip)"
    echo "pkg-config --cflags blip: ${cflags[*]}"
    echo "pkg-config --libs blip:   ${libs[*]}"
    # The .pc file locates itself (${pcfiledir}): its paths must lead into this prefix.
    for flag in "${cflags[@]}" "${libs[@]}"; do
        case "$flag" in
        -I*) [[ "$(realpath "${flag#-I}")" == "$(realpath "$prefix/include")" ]] ||
            fail "pkg-config gives $flag, not the installed include directory" ;;
        -L*) [[ "$(realpath "${flag#-L}")" == "$(realpath "$libdir")" ]] ||
            fail "pkg-config gives $flag, not the installed library directory" ;;
        esac
    done
    "$cc" -std=c99 -pedantic -Wall -Wextra -Werror "-DEXPECT_VERSION=\"$BLIP_EXPECT_VERSION\"" \
        "${extra_flags[@]}" "${cflags[@]}" "$tmp/src/consumer.c" -o "$tmp/consumer" "${libs[@]}" ||
        fail "building consumer.c with the flags of pkg-config blip"
    check_links "$tmp/consumer" "LD_LIBRARY_PATH=$libdir"
    LD_LIBRARY_PATH="$libdir" "$tmp/consumer" || fail "consumer (pkg-config build) exited $?"
    ;;
cmake)
    flags="${extra_flags[*]}"
    "$cmake_bin" -S "$tmp/src" -B "$tmp/build" "-DCMAKE_PREFIX_PATH=$prefix" \
        "-DCMAKE_C_COMPILER=$cc" "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=$flags" \
        "-DEXPECT_VERSION=$BLIP_EXPECT_VERSION" -DCMAKE_BUILD_TYPE=Release ||
        fail "configuring the find_package(blip) consumer"
    "$cmake_bin" --build "$tmp/build" || fail "building the find_package(blip) consumer"
    # CMake gives the program an RPATH into the prefix: it must run with no LD_LIBRARY_PATH.
    check_links "$tmp/build/consumer" -u LD_LIBRARY_PATH
    env -u LD_LIBRARY_PATH "$tmp/build/consumer" || fail "consumer (CMake build) exited $?"
    ;;
esac
echo "PASS ($mode)"
