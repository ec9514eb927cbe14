#!/usr/bin/env bash
# Inbound speed: callbridge against a bare net/http + kafka-go handler (bare/main.go:
# same broker, same writer settings, acks=all, 1 ms batches, producing the raw body),
# both posted the 5 KB BYAI call record by wrk -t2 -c64.
#
# Each round starts a fresh broker and one server under test at a time, the server
# pinned to a core of its own (SERVER_CPU) and the broker and wrk to another
# (LOAD_CPU), and alternates which side goes first. Per side it records throughput
# (wrk's requests/s) and CPU per request (utime+stime of the server from
# /proc/PID/stat over the run, divided by the requests wrk completed); it prints each
# round's ratios (callbridge over bare: CPU per request as bare/callbridge, so higher
# is better for both) and their medians.
#
# Goal (issue 11): CPU-per-request ratio >= 0.95, throughput ratio >= 1.0.
#
#   bench/inbound/compare.sh [ROUNDS (default 7)] [SECONDS per run (default 10)]
#   CALLBRIDGE_BIN=/path/to/callbridge bench/inbound/compare.sh   # another build
#   BARE_PRODUCER=batcher bench/inbound/compare.sh   # the bare handler produces with
#                                                    # callbridge's own Batcher instead
#                                                    # of kafka.Writer's 1 ms batches
#
# Every request carries another call id, so that callbridge writes each one (it
# answers a repeated delivery from its record of what it acknowledged).
set -euo pipefail
ROUNDS=${1:-7}
SECONDS_PER_RUN=${2:-10}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BROKER_PORT=${BROKER_PORT:-19092}
HTTP_PORT=${HTTP_PORT:-18080}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'kill_all; rm -rf "$WORK"' EXIT

PIDS=()
kill_all() {
	for p in "${PIDS[@]:-}"; do
		if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
	done
	PIDS=()
}

if ! command -v wrk >/dev/null; then
	echo "installing wrk" >&2
	(apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null)) || { echo "wrk is needed" >&2; exit 1; }
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }

echo "building" >&2
(cd "$ROOT" && go build -o "$WORK/callbridge" ./cmd/callbridge && go build -o "$WORK/bare" ./bench/inbound/bare && go build -o "$WORK/broker" ./bench/inbound/broker)
# CALLBRIDGE_BIN compares another build (e.g. main's) instead of this tree's.
if [ -n "${CALLBRIDGE_BIN:-}" ]; then cp "$CALLBRIDGE_BIN" "$WORK/callbridge"; fi

BODY="$ROOT/testdata/webhooks/byai/call_instance_result.json"
# wrk script: the body with a new callInstanceId per request.
python3 - "$BODY" "$WORK/post.lua" <<'PY'
import sys
body = open(sys.argv[1], encoding="utf-8").read()
marker = '"callInstanceId": 1,'
assert marker in body
pre, post = body.split(marker, 1)
def lua(s): return "[==[" + s + "]==]"
open(sys.argv[2], "w").write(f"""
local pre = {lua(pre + '"callInstanceId": ')}
local post = {lua(',' + post)}
local n = math.random(1, 1000000000) * 1000
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Callbridge-Token"] = "bench-token"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, pre .. n .. post)
end
""")
PY

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

wait_http() {
	for _ in $(seq 1 200); do
		if curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "server did not get ready" >&2; return 1
}

# run SIDE: prints "RPS CPU_SECONDS_PER_REQUEST"
run() {
	local side=$1
	taskset -c "$LOAD_CPU" "$WORK/broker" -port "$BROKER_PORT" 2>"$WORK/broker.log" &
	PIDS+=($!)
	sleep 0.5
	if [ "$side" = bare ]; then
		taskset -c "$SERVER_CPU" "$WORK/bare" -producer "${BARE_PRODUCER:-writer}" -addr "127.0.0.1:$HTTP_PORT" -brokers "127.0.0.1:$BROKER_PORT" 2>"$WORK/server.log" &
	else
		env -i PATH="$PATH" HOME="$HOME" \
			CALLBRIDGE_KAFKA_BROKERS="127.0.0.1:$BROKER_PORT" CALLBRIDGE_HTTP_ADDR="127.0.0.1:$HTTP_PORT" \
			CALLBRIDGE_OUTBOUND_ENABLED=false CALLBRIDGE_LOG_LEVEL=warn CALLBRIDGE_KAFKA_TOPIC_PARTITIONS=3 \
			CALLBRIDGE_ACCOUNTS=byai-main CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR=byai \
			CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_KEY=k CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET=s \
			CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID=1 CALLBRIDGE_ACCOUNT_BYAI_MAIN_BASE_URL=http://127.0.0.1:1 \
			CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN=bench-token \
			taskset -c "$SERVER_CPU" "$WORK/callbridge" serve 2>"$WORK/server.log" &
	fi
	local pid=$!
	PIDS+=($pid)
	wait_http
	# Warm up (connections, metadata, the pools), then measure.
	taskset -c "$LOAD_CPU" wrk -t2 -c64 -d2s -s "$WORK/post.lua" "http://127.0.0.1:$HTTP_PORT/webhooks/byai-main" >/dev/null
	local t0; t0=$(cpu_ticks "$pid")
	local out; out=$(taskset -c "$LOAD_CPU" wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s "$WORK/post.lua" "http://127.0.0.1:$HTTP_PORT/webhooks/byai-main")
	local t1; t1=$(cpu_ticks "$pid")
	kill_all
	local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	local hz; hz=$(getconf CLK_TCK)
	if [ -n "$non2xx" ]; then echo "$side: $non2xx non-2xx replies" >&2; fi
	python3 -c "print($rps, ($t1-$t0)/$hz/$reqs)"
}

median() { python3 -c "import statistics,sys; print('%.3f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; server on CPU $SERVER_CPU, broker and wrk on CPU $LOAD_CPU; bare handler produces with ${BARE_PRODUCER:-writer}" >&2
CPU_RATIOS=(); RPS_RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="bare callbridge"; else order="callbridge bare"; fi
	declare -A RPS CPU
	for side in $order; do
		read -r rps cpu < <(run "$side")
		RPS[$side]=$rps; CPU[$side]=$cpu
	done
	cr=$(python3 -c "print(${CPU[bare]}/${CPU[callbridge]})")
	rr=$(python3 -c "print(${RPS[callbridge]}/${RPS[bare]})")
	CPU_RATIOS+=("$cr"); RPS_RATIOS+=("$rr")
	printf 'round %d (%s first): bare %.0f req/s %.1f us CPU/req, callbridge %.0f req/s %.1f us CPU/req; CPU/req ratio %.3f, throughput ratio %.3f; load %s\n' \
		"$r" "${order%% *}" "${RPS[bare]}" "$(python3 -c "print(${CPU[bare]}*1e6)")" "${RPS[callbridge]}" "$(python3 -c "print(${CPU[callbridge]}*1e6)")" "$cr" "$rr" "$(cut -d' ' -f1 /proc/loadavg)"
done
echo "median over $ROUNDS rounds: CPU per request $(median "${CPU_RATIOS[@]}")x (goal >= 0.95), throughput $(median "${RPS_RATIOS[@]}")x (goal >= 1.0)"
