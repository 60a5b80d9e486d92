#!/bin/sh
# check_exports.sh LIB - fails if the shared library LIB exports any dynamic symbol whose name
# does not start with blip_ (the version node BLIP_0 itself is allowed). Needs nm (binutils).
set -eu
if [ "$#" -ne 1 ]; then echo "usage: check_exports.sh LIBRARY" >&2; exit 2; fi
lib=$1
# Last field is the name; newer nm appends the version (blip_x@@BLIP_0), which is stripped.
names=$("${NM:-nm}" -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//')
bad=$(printf '%s\n' "$names" | grep -v -e '^blip_' -e '^BLIP_0$' -e '^$' || true)
if [ -n "$bad" ]; then
    echo "FAIL: $lib exports symbols outside blip_*:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
fi
# An empty export list would pass the check above while the library is unusable.
if ! printf '%s\n' "$names" | grep -qx 'blip_version'; then
    echo "FAIL: $lib does not export blip_version" >&2
    exit 1
fi
count=$(printf '%s\n' "$names" | grep -c '^blip_')
echo "OK: $lib exports $count symbols, all blip_*"
