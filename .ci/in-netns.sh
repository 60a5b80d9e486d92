#!/bin/sh
# in-netns.sh CMD [ARG...] - runs CMD inside a fresh private network namespace, so test
# multicast can never leave the machine. Inside: lo is up with IPv4 multicast (224.0.0.0/4)
# routed to it, and a veth pair veth0 <-> veth1 with IPv6 link-local addresses (Linux does not
# carry IPv6 multicast on lo). BLIP_NETNS=1 is set inside, so network tests can skip honestly
# when it is absent. The exit status is CMD's.
#
# Without a namespace (not root and no user namespaces) CMD runs directly with a warning,
# unless CI=true, where that is an error.
if [ "$#" -eq 0 ]; then echo "usage: in-netns.sh CMD [ARG...]" >&2; exit 2; fi

if [ "$(id -u)" -eq 0 ]; then ns="unshare --net"; else ns="unshare --net --map-root-user"; fi

if $ns true 2>/dev/null; then
    # shellcheck disable=SC2016  # the script is expanded by the inner sh, not here
    exec $ns sh -c '
        ip link set lo up || { echo "in-netns.sh: cannot bring up lo" >&2; exit 1; }
        ip link set lo multicast on 2>/dev/null
        ip route add 224.0.0.0/4 dev lo 2>/dev/null
        sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 2>/dev/null
        if ip link add veth0 type veth peer name veth1 2>/dev/null; then
            ip link set veth0 up && ip link set veth1 up
            i=0
            while [ $i -lt 50 ] && ip -6 addr show dev veth0 2>/dev/null | grep -q tentative; do
                sleep 0.1; i=$((i + 1))
            done
        fi
        BLIP_NETNS=1 exec "$@"' in-netns "$@"
fi

if [ "${CI:-}" = true ]; then
    echo "in-netns.sh: error: cannot create a network namespace ($ns failed); CI needs one" >&2
    exit 1
fi
echo "in-netns.sh: warning: no network namespace available; running without isolation: $*" >&2
exec "$@"
