#!/bin/sh
# require_netns.sh CMD [ARG...] - runs CMD only inside the private network namespace of
# .ci/in-netns.sh (BLIP_NETNS set); otherwise exits 77, which ctest reports as skipped, so a
# test never sends multicast on a real network.
if [ -z "${BLIP_NETNS:-}" ]; then
    echo "skipped: sends multicast, so it runs only inside a private network namespace" \
         "(BLIP_NETNS unset; run ctest via .ci/in-netns.sh or .ci/test.sh)"
    exit 77
fi
exec "$@"
