#!/usr/bin/env bash
# test_go.sh - the Go binding's suite (ctest go_binding). Installs a Blip build tree into a
# temporary prefix with `cmake --install`, then, with PKG_CONFIG_PATH and LD_LIBRARY_PATH on
# that prefix only: go vet ./..., GODEBUG=cgocheck=2 go test -race -count=1 ./..., and builds
# examples/logpub and examples/logsub (with -race too). Inside .ci/in-netns.sh (BLIP_NETNS set)
# the channel tests run too, and logpub | logsub carry 500 lines over loopback multicast with
# 10% loss.
#
# Sanitizer builds (BLIP_SANITIZE, or a libblip that needs libasan): the race detector (TSan)
# cannot share a process with ASan, and a Go binary that merely loads an ASan libblip fails
# ("ASan runtime does not come first"). There the tests and examples are built with Go's own
# ASan mode instead (go test -asan, Go >= 1.18), which links the runtime first. Exit 77 (skip)
# when Go is not installed, for BLIP_FUZZ builds (libFuzzer instrumentation), and for a
# sanitizer build with a Go too old for -asan.
#
# Environment (set by CMakeLists.txt): BLIP_BUILD_DIR (required), BLIP_CONFIG, BLIP_CMAKE,
# BLIP_GO (the go binary), BLIP_GO_CACHE (GOCACHE, kept between runs), BLIP_CC (the C compiler
# of the build, used by cgo), BLIP_SANITIZE and BLIP_FUZZ (0/1). No network access:
# GOPROXY=off, and the module has no dependencies.
set -euo pipefail

: "${BLIP_BUILD_DIR:?BLIP_BUILD_DIR must name the build tree}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmake_bin=${BLIP_CMAKE:-cmake}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: $*"
    exit 77
}

go_bin=${BLIP_GO:-}
if [[ -z "$go_bin" || "$go_bin" == *-NOTFOUND || ! -x "$go_bin" ]]; then
    go_bin=$(command -v go || true)
fi
[[ -n "$go_bin" ]] || skip "Go is not installed (Debian: apt-get install golang-go); the Go binding is not tested"

if [[ "${BLIP_FUZZ:-0}" == 1 ]]; then
    skip "libblip is built for libFuzzer (BLIP_FUZZ): the Go suite runs in the plain and BLIP_SANITIZE builds"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blip-go-test.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

install_args=(--install "$BLIP_BUILD_DIR" --prefix "$prefix")
if [[ -n "${BLIP_CONFIG:-}" ]]; then install_args+=(--config "$BLIP_CONFIG"); fi
"$cmake_bin" "${install_args[@]}" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "cmake --install $BLIP_BUILD_DIR failed"
}
mapfile -t pcs < <(find "$prefix" -name blip.pc -path '*/pkgconfig/*')
[[ ${#pcs[@]} -eq 1 ]] || fail "expected one blip.pc under $prefix, found ${#pcs[@]}"
libdir=$(dirname "$(dirname "${pcs[0]}")")

# Sanitizers: announced by CMake, or seen on the library itself (GCC links libasan.so; Clang
# leaves __asan_* undefined in a shared library).
check_flag=-race
lib_deps=$(ldd "$libdir/libblip.so" 2>/dev/null || true)
lib_undefined=$(nm -D --undefined-only "$libdir/libblip.so" 2>/dev/null || true)
if [[ "${BLIP_SANITIZE:-0}" == 1 || "$lib_deps" =~ lib(asan|ubsan) || "$lib_undefined" == *__asan_* ]]; then
    [[ "$("$go_bin" help build)" == *-asan* ]] ||
        skip "libblip is built with ASan and $("$go_bin" version) has no -asan mode (Go >= 1.18); -race cannot load it"
    check_flag=-asan
    # libblip also needs the UBSan runtime (Go's -asan links only ASan's), and with Clang its
    # C++ part (vptr checks), which Clang links for C programs only when asked to.
    sanitize_ldflags="-fsanitize=address,undefined"
    if [[ "$("${BLIP_CC:-cc}" --version 2>/dev/null)" == *clang* ]]; then
        sanitize_ldflags+=" -fsanitize-link-c++-runtime -lstdc++"
    fi
    export CGO_LDFLAGS="${CGO_LDFLAGS:--g -O2} $sanitize_ldflags"
    echo "note: libblip is built with sanitizers: the Go tests and examples are built with -asan instead of -race"
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GOCACHE=${BLIP_GO_CACHE:-$tmp/gocache}
export GOPATH=$tmp/gopath GOPROXY=off GOFLAGS= GO111MODULE=on GOWORK=off GOTOOLCHAIN=local
export CGO_ENABLED=1
if [[ -n "${BLIP_CC:-}" ]]; then export CC=$BLIP_CC; fi
# go test -asan (Go 1.19) recognises the compiler by its name only ("gcc*" or "clang*"), and
# CMake's compiler is often /usr/bin/cc: name the real compiler.
if [[ "$check_flag" == -asan ]]; then
    cc_name=$(basename "${CC:-cc}")
    if [[ "$cc_name" != gcc* && "$cc_name" != clang* ]]; then
        if [[ "$("${CC:-cc}" -v 2>&1)" == *clang* ]] && command -v clang >/dev/null; then
            export CC=clang
        elif command -v gcc >/dev/null; then
            export CC=gcc
        fi
    fi
fi
# Go's build cache keys a cgo package neither on pkg-config's output nor on headers outside the
# module, so a cached build of this package would still point at an earlier, deleted prefix
# (link: "cannot find -lblip") or headers. A define unique to this run rebuilds the cgo
# packages against this install (a few seconds) while the rest of the cache stays valid.
export CGO_CFLAGS="${CGO_CFLAGS:--g -O2} -DBLIP_GO_TEST_RUN=$(date +%s%N)"
mkdir -p "$GOCACHE"
cd "$here"

echo "== $("$go_bin" version); libblip from $libdir (pkg-config blip $(pkg-config --modversion blip))"
if [[ -z "${BLIP_NETNS:-}" ]]; then
    echo "note: BLIP_NETNS is not set: the tests that open channels skip (run ctest inside .ci/in-netns.sh)"
fi

echo "== go vet ./..."
"$go_bin" vet ./... || fail "go vet"

echo "== GODEBUG=cgocheck=2 go test $check_flag -count=1 ./..."
GODEBUG=cgocheck=2 "$go_bin" test "$check_flag" -count=1 -timeout 600s -v ./... >"$tmp/test.log" 2>&1 || {
    cat "$tmp/test.log"
    fail "go test"
}
grep -E '^(--- |ok|PASS|FAIL)|SKIP' "$tmp/test.log" || true

echo "== go build ./examples/..."
mkdir -p "$tmp/bin"
"$go_bin" build "$check_flag" -o "$tmp/bin/" ./examples/... || fail "building the examples"
for prog in logpub logsub; do
    [[ -x "$tmp/bin/$prog" ]] || fail "examples/$prog was not built"
    deps=$(ldd "$tmp/bin/$prog") # not piped into grep -q: under pipefail ldd's SIGPIPE fails
    [[ "$deps" == *"$libdir/libblip.so"* ]] || fail "$prog does not load the installed libblip: $deps"
done

if [[ -n "${BLIP_NETNS:-}" ]]; then
    echo "== logpub | logsub, 500 lines, 10% loss injected at the subscriber"
    port=$((20000 + $$ % 20000))
    ch=(-interface 127.0.0.1 -group 239.255.78.77 -port "$port")
    "$tmp/bin/logsub" "${ch[@]}" -n 500 -idle 20s -set inject_loss=0.1 \
        >"$tmp/sub.out" 2>"$tmp/sub.err" &
    sub=$!
    # The subscriber must listen before the publisher starts, so that it gets every line.
    for _ in $(seq 100); do
        grep -q 'listening on' "$tmp/sub.err" 2>/dev/null && break
        kill -0 "$sub" 2>/dev/null || break
        sleep 0.1
    done
    grep -q 'listening on' "$tmp/sub.err" || { cat "$tmp/sub.err"; fail "logsub did not start"; }
    # ~200-byte lines: some 80 datagrams, so that 10% loss drops several.
    seq 1 500 | awk '{ printf "log line %d %0200d\n", $1, $1 }' |
        "$tmp/bin/logpub" "${ch[@]}" -linger 1s ||
        fail "logpub exited $?"
    rc=0
    wait "$sub" || rc=$?
    cat "$tmp/sub.err"
    [[ $rc -eq 0 ]] || fail "logsub exited $rc"
    [[ $(wc -l <"$tmp/sub.out") -eq 500 ]] || fail "logsub printed $(wc -l <"$tmp/sub.out") lines, want 500"
    # Each line: TIME NODE/STREAM #SEQ: log line SEQ+1 PADDING, in order.
    awk '{ seq = substr($3, 2, length($3) - 2)
           if (seq != NR - 1 || $6 != NR || $7 + 0 != NR) { print "line " NR ": " $0; exit 1 } }' \
        "$tmp/sub.out" || fail "logsub's lines are not 'log line 1..500' in sequence order"
fi
echo "PASS"
