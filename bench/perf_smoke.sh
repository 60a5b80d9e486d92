#!/bin/sh
# perf_smoke.sh BLIP_PERF - runs every mode of blip-perf very briefly (one repetition, small
# counts) to prove that each works and verifies its data; it measures nothing. blip-perf exits
# non-zero when any message fails verification or a run times out, and so does this script.
# Sends multicast, so it runs only inside the private namespace of .ci/in-netns.sh (BLIP_NETNS
# set) and otherwise exits 77, which ctest reports as skipped.
if [ -z "${BLIP_NETNS:-}" ]; then
    echo "skipped: sends multicast, so it runs only inside a private network namespace" \
         "(BLIP_NETNS unset; run ctest via .ci/in-netns.sh or .ci/test.sh)"
    exit 77
fi
perf=${1:?usage: perf_smoke.sh BLIP_PERF}
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

run() {
    echo "== blip-perf $*"
    if ! "$perf" "$@" --reps 1 --timeout 120 >"$out" 2>&1; then
        cat "$out"
        echo "FAIL: blip-perf $*"
        exit 1
    fi
    tail -n 1 "$out"
}

run throughput --count 3000 --size 1024
run throughput --count 3000 --size 64 --receivers 2 --loss 0.05
run throughput --count 200 --size 100000 --loss 0.02
run throughput --count 3000 --size 200 --pull
run throughput --duration 0.3 --size 512 --mbps 5
run latency --count 1000 --rate 5000
run latency --count 500 --rate 2000 --pingpong
run latency --count 1000 --rate 5000 --raw --rx-set busy_poll_us=100 --spin-us 20
run repair --count 1000 --rate 5000 --loss-levels 0.05
run raw --count 5000 --size 1400
run raw --count 2000 --size 256 --rate 20000 --receivers 2
run compare --count 1000

# --json is one well-formed document, with the figures a script needs.
echo "== blip-perf throughput --json"
if ! "$perf" throughput --count 2000 --reps 2 --json >"$out" 2>/dev/null; then
    echo "FAIL: blip-perf throughput --json"
    exit 1
fi
if command -v python3 >/dev/null 2>&1; then
    python3 - "$out" <<'EOF' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["pass"] is True, doc
sec = doc["sections"][0]
assert sec["reps_ok"] == 2, sec
fig = {f["key"]: f for f in sec["figures"]}
assert fig["rx.per_s"]["median"] > 0 and len(fig["rx.per_s"]["values"]) == 2, fig["rx.per_s"]
assert doc["machine"]["cores"] >= 1
print("json: ok")
EOF
fi

# A failing run must fail: a receiver that cannot verify (here: nothing arrives, as the sender
# sends to another group) makes blip-perf exit 1, after its stall limit, not hang.
echo "== blip-perf must fail when messages do not arrive"
if "$perf" throughput --count 100 --reps 1 --tx-set group=239.255.91.99 --stall-ms 1000 \
        --timeout 30 >"$out" 2>&1; then
    cat "$out"
    echo "FAIL: a run where nothing arrives passed"
    exit 1
fi
tail -n 1 "$out"
echo "PASS: every mode ran and verified its data"
