#!/usr/bin/env bash
# The outbound half's scale benchmark (issue 10), on the in-process broker, each
# bridge instance a separate `callbridge serve` process measured from /proc:
#   1. pre-fill the ledger with N settled call.single results (default 3,000,000);
#   2. start an instance with an empty local store: time until it executes a new
#      command, peak RSS (VmHWM);
#   3. restart it with its local store intact: the same figures;
#   4. CPU per command on C commands (default 3,000) with one instance, then two:
#      sent all at once (the same work for one instance or two), and paced, at R a
#      second per instance (BENCH_RATE, default 400: R for one, 2R for two).
# Usage: bench/ledger.sh [N] [C]        (prints the load average as it goes)
#
# Why paced too: sent all at once, the C commands run as fast as the 2 shared cores
# allow, and two instances run them with a third and fourth busy process on those
# cores, each instance at about half the rate one instance had. A Go process idle
# between round trips pays for each turn from idle to busy (threads parked and woken,
# sysmon's 20µs polling restarted), so at half the rate it spends more per command
# without doing more work. Paced, each of two instances sees the rate one instance
# saw: the ratio then is what adding an instance costs per command.
#   BENCH_GOMAXPROCS=1 bench/ledger.sh …  runs each instance as if it had one core of its
#   own (as a container with a 1-CPU limit does), so that on a small machine the second
#   instance's scheduler does not spin against the first's for the same two cores.
set -euo pipefail
N=${1:-3000000}
C=${2:-3000}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT
go build -o "$work/callbridge" ./cmd/callbridge
go build -o "$work/bench" ./bench/ledger
KAFKA=127.0.0.1:${BENCH_KAFKA_PORT:-19092}
VENDOR=127.0.0.1:${BENCH_VENDOR_PORT:-18080}
"$work/bench" infra -kafka "$KAFKA" &
"$work/callbridge" simulate -no-color -yiwise-addr '' -byai-addr "$VENDOR" -time-scale 1000 >"$work/sim.log" 2>&1 &
sleep 1
export BENCH_VENDOR=byai
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }

load
"$work/bench" fill -brokers "$KAFKA" -n "$N"

instance() { # name http-port
  mkdir -p "$work/$1"
  env -i PATH="$PATH" HOME="$work" ${BENCH_GOMAXPROCS:+GOMAXPROCS=$BENCH_GOMAXPROCS} \
    CALLBRIDGE_KAFKA_BROKERS="$KAFKA" CALLBRIDGE_KAFKA_TOPIC_PARTITIONS=6 CALLBRIDGE_INBOUND_ENABLED=false \
    CALLBRIDGE_HTTP_ADDR=127.0.0.1:$2 CALLBRIDGE_LEDGER_DIR="$work/$1" CALLBRIDGE_LOG_LEVEL=warn \
    CALLBRIDGE_ACCOUNTS=main CALLBRIDGE_ACCOUNT_MAIN_VENDOR=byai CALLBRIDGE_ACCOUNT_MAIN_APP_KEY=sim-byai-appkey \
    CALLBRIDGE_ACCOUNT_MAIN_APP_SECRET=sim-byai-appsecret CALLBRIDGE_ACCOUNT_MAIN_COMPANY_ID=1 \
    CALLBRIDGE_ACCOUNT_MAIN_BASE_URL="http://$VENDOR" CALLBRIDGE_ACCOUNT_MAIN_WEBHOOK_TOKEN=bench-token-0123456789 \
    OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none \
    "$work/callbridge" serve >>"$work/$1.log" 2>&1 &
  echo $! | tee "$work/$1.pid"
}
rss() { awk '/VmHWM|VmRSS/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$1/status"; echo; }

startup() { # label name port
  local t0 pid
  t0=$(date +%s.%N)
  pid=$(instance "$2" "$3")
  "$work/bench" probe -brokers "$KAFKA" -id "probe-$2-$RANDOM" >/dev/null
  echo "$1: a new command executed $(echo "$(date +%s.%N) - $t0" | bc) s after the process started; $(rss "$pid")"
  echo "  readyz: $(curl -s "127.0.0.1:$3/readyz" | tr '\n' ' ')"
  load
  echo "$pid"
}

out=$(startup "first start, empty local store, $N retained" a 18091); echo "$out" | head -n -1; pid=$(echo "$out" | tail -1)
kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
du -sh "$work/a" | sed 's/^/  local store: /'
out=$(startup "restart, local store intact, $N retained" a 18091); echo "$out" | head -n -1; pid=$(echo "$out" | tail -1)
sleep 2
"$work/bench" load -brokers "$KAFKA" -n $((C / 10)) -pids "$pid" >/dev/null # warm-up
sleep 5
R=${BENCH_RATE:-400}
us() { grep -o '[0-9]* µs per command' <<<"$1" | cut -d' ' -f1; }
one=$("$work/bench" load -brokers "$KAFKA" -n "$C" -pids "$pid")
echo "one instance: $one"
echo "  $(rss "$pid")"
load
onep=$("$work/bench" load -brokers "$KAFKA" -n "$C" -pids "$pid" -rate "$R")
echo "one instance, $R commands/s: $onep"
load
pid2=$(instance b 18092)
# Measure the steady state: both instances consuming, b's partitions loaded (an
# outbound-only instance's /readyz is 200 only then).
t0=$(date +%s.%N)
until curl -sf 127.0.0.1:18092/readyz >/dev/null && curl -sf 127.0.0.1:18091/readyz >/dev/null; do sleep 0.2; done
echo "second instance joined and loaded its partitions (empty local store) in $(echo "$(date +%s.%N) - $t0" | bc) s; $(rss "$pid2")"
"$work/bench" probe -brokers "$KAFKA" -id "probe-b-$RANDOM" >/dev/null
# Let b's garbage from the load be collected, and warm both up, as for one instance.
sleep 10
"$work/bench" load -brokers "$KAFKA" -n $((C / 10)) -pids "$pid,$pid2" >/dev/null
sleep 5
two=$("$work/bench" load -brokers "$KAFKA" -n "$C" -pids "$pid,$pid2")
echo "two instances: $two"
echo "  a: $(rss "$pid")"
echo "  b: $(rss "$pid2")"
load
twop=$("$work/bench" load -brokers "$KAFKA" -n "$C" -pids "$pid,$pid2" -rate $((2 * R)))
echo "two instances, $((2 * R)) commands/s: $twop"
ratio() { echo "scale=2; $(us "$1") / $(us "$2")" | bc; }
echo "two instances' CPU per command / one instance's: $(ratio "$two" "$one")x all at once, $(ratio "$twop" "$onep")x at $R commands/s per instance"
load
