#!/bin/sh
# test_send_recv.sh BLIP_SEND BLIP_RECV - end-to-end test of the tools: blip-recv --json (with
# injected loss, so repairs are needed) receives the lines one blip-send sends and a binary
# file a second blip-send sends; python3 validates every JSON line and compares the payloads.
# Sends multicast, so it runs only inside the namespace of .ci/in-netns.sh (else exits 77).
set -u
send=$1
recv=$2
if [ -z "${BLIP_NETNS:-}" ]; then
    echo "skipped: sends multicast, so it runs only inside a private network namespace" \
         "(BLIP_NETNS unset; run ctest via .ci/in-netns.sh or .ci/test.sh)"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "skipped: python3 (used to validate the JSON output) not found"
    exit 77
fi

dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*"
    for f in recv.err send.err out.jsonl; do
        [ -s "$dir/$f" ] && { echo "--- $f"; head -c 4000 "$dir/$f"; echo; }
    done
    exit 1
}

ch="--interface 127.0.0.1 --group 239.255.78.1 --port $((20000 + $$ % 20000))"

# 40 lines: plain text, JSON-special characters, UTF-8, control and non-UTF-8 bytes, an empty one.
python3 - "$dir/lines" "$dir/blob" <<'EOF'
import sys
lines = [b"line %d: hello" % i for i in range(34)]
lines += [b'quote " and backslash \\ here', b"tab\tseparated", "UTF-8: h\u00e9llo \u2713".encode(),
          b"\x01\x02 control", b"\xff\xfe not UTF-8", b""]
open(sys.argv[1], "wb").write(b"".join(l + b"\n" for l in lines))
open(sys.argv[2], "wb").write(bytes((i * 7 + 3) % 256 for i in range(5000)))  # several datagrams
EOF
count=41  # 40 lines + 1 file

# shellcheck disable=SC2086  # $ch is a list of arguments
"$recv" $ch --json --count $count --timeout-ms 10000 --stats --check-order \
    --set inject_loss=0.2 --set inject_seed=7 >"$dir/out.jsonl" 2>"$dir/recv.err" &
pid=$!
i=0
until grep -q "listening" "$dir/recv.err" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && fail "blip-recv did not start listening within 10 s"
    kill -0 "$pid" 2>/dev/null || fail "blip-recv exited early"
    sleep 0.1
done

# shellcheck disable=SC2086
"$send" $ch --linger-ms 500 <"$dir/lines" 2>"$dir/send.err" || fail "blip-send (lines) failed"
# shellcheck disable=SC2086
"$send" $ch --linger-ms 500 --file "$dir/blob" 2>>"$dir/send.err" || fail "blip-send (file) failed"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "blip-recv exited with $status"

python3 - "$dir/out.jsonl" "$dir/lines" "$dir/blob" <<'EOF' || fail "JSON output is wrong"
import json, sys
out, lines_path, blob_path = sys.argv[1:]
lines = open(lines_path, "rb").read().split(b"\n")[:-1]
blob = open(blob_path, "rb").read()
msgs, events, stats = [], [], []
for n, raw in enumerate(open(out, "rb").read().split(b"\n")[:-1], 1):
    obj = json.loads(raw.decode("utf-8"))  # each line: one valid JSON object, valid UTF-8
    assert isinstance(obj, dict) and "type" in obj, f"line {n}: {raw!r}"
    {"message": msgs, "stats": stats}.get(obj["type"], events).append(obj)
def payload(m):
    assert ("data" in m) != ("data_hex" in m), m
    p = m["data"].encode("utf-8") if "data" in m else bytes.fromhex(m["data_hex"])
    assert len(p) == m["length"], m
    return p
first, second = msgs[:len(lines)], msgs[len(lines):]
assert len(second) == 1, f"{len(msgs)} messages, want {len(lines) + 1}"
assert [payload(m) for m in first] == lines, "line payloads differ"
assert [m["seq"] for m in first] == list(range(len(lines))), "line sequence numbers"
assert len({(m["node"], m["session"], m["stream"]) for m in first}) == 1, "one sender stream"
assert payload(second[0]) == blob and "data_hex" in second[0], "file payload"
assert second[0]["node"] != first[0]["node"], "the second blip-send is another node"
assert all(m["node"].startswith("0x") and m["session"].startswith("0x") for m in msgs)
assert "data_hex" in first[-3] and "data_hex" in first[-2] and first[-1]["data"] == ""
assert first[-6]["data"] == 'quote " and backslash \\ here' and first[-5]["data"] == "tab\tseparated"
assert not [e for e in events if e["type"] in ("loss", "overrun")], events
assert sum(e["type"] == "sender_new" for e in events) == 2, events
assert len(stats) == 1 and all(isinstance(v, int) for k, v in stats[0].items() if k != "type")
print(f"ok: {len(msgs)} messages, {len(events)} events ({', '.join(e['type'] for e in events)}), "
      f"stats: {len(stats[0]) - 1} counters")
EOF
echo "blip-send -> blip-recv --json: every line valid, payloads exact"
