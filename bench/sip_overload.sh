#!/usr/bin/env bash
# bench/sip_overload.sh — the SIP frontend past saturation (issue 4):
# relayed MESSAGE with more senders in flight than the server handles
# (sip.max_in_flight, default 256), on one or two builds side by side.
# For each step it prints what ctload offered and got back (2xx, 503 with
# Retry-After, other failures), the latency, and the UDP datagrams the
# kernel counted beyond those the exchanges need (retransmissions, plus
# whatever else runs on the machine) and the datagrams it dropped for a
# full socket buffer.
#
# Usage (loopback only; ~1 minute per build):
#   bench/sip_overload.sh                       # this checkout
#   BASE=/path/to/other/checkout bench/sip_overload.sh   # and that one beside it
#   STEPS="50 200 400 800" SECONDS_PER_STEP=5 bench/sip_overload.sh
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-"32 128 400 800"}  # senders in flight (ctload -c)
STEP_SECONDS=${SECONDS_PER_STEP:-5}
RATE=${RATE:-40000}               # the pacing cap; the senders in flight limit the load
ACCOUNTS=$((2 * $(echo "$STEPS" | tr ' ' '\n' | sort -n | tail -1)))
WORK=$(mktemp -d /tmp/sip-overload.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

go build -o "$WORK/ctload" ./cmd/ctload
builds=("$PWD")
[ -n "${BASE:-}" ] && builds=("$BASE" "$PWD")

# udp FIELD: a counter of the kernel's Udp line.
udp() { awk -v f="$1" '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c[f] }' /proc/net/snmp; }
# drops IP: datagrams dropped at the server's UDP socket so far.
drops() { ss -H -uanm "src $1 and sport = :15060" | grep -o 'd[0-9]*)' | tr -d 'd)' | head -1; }

n=0
for src in "${builds[@]}"; do
  n=$((n + 1)); ip=127.0.0.$((40 + n)); d=$WORK/s$n; mkdir -p "$d"
  log "building $src"
  (cd "$src" && go build -o "$d/crosstalk" ./cmd/crosstalk)
  rev=$(git -C "$src" rev-parse --short HEAD)
  cat > "$d/crosstalk.toml" <<EOT
domains = ["localhost"]
data_dir = "$d"
archive = false
[listen]
xmpp_c2s = ""
xmpp_tls = ""
xmpp_s2s = ""
sip_udp = "$ip:15060"
sip_tcp = "$ip:15060"
sip_tls = "$ip:15061"
https = "$ip:18443"
[limits]
connections_per_ip = 100000
login_failures_per_minute = 100000
[sip]
requests_per_second = 1000000
request_burst = 1000000
[log]
level = "warn"
format = "json"
EOT
  log "creating $ACCOUNTS accounts"
  seq 1 "$ACCOUNTS" | xargs -P 4 -I{} sh -c "echo secret | '$d/crosstalk' user add 'user{}@localhost' --config '$d/crosstalk.toml' >/dev/null"
  (ulimit -n 20000; exec "$d/crosstalk" serve --config "$d/crosstalk.toml" >"$d/out.log" 2>&1) &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 1 150); do ss -H -lun "src $ip and sport = :15060" | grep -q . && break; sleep 0.1; done
  echo
  echo "### $rev ($src)"
  echo
  echo "| senders in flight | offered/s | 2xx/s | 503 share | other failures | p50 ms | p99 ms | max ms | excess datagrams | dropped datagrams |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for c in $STEPS; do
    in0=$(udp InDatagrams); drop0=$(drops "$ip")
    "$WORK/ctload" -q -json "$d/c$c.json" -rate "$RATE" -n $((RATE * STEP_SECONDS)) -d "${STEP_SECONDS}s" \
      -sip "$ip:15060" -domain localhost -password secret -pid "$pid" -accounts $((2 * c)) -c "$c" -timeout 10s sip-message 2>>"$d/ctload.log" || true
    in1=$(udp InDatagrams); drop1=$(drops "$ip")
    # A relayed MESSAGE is 4 datagrams (MESSAGE, 200, MESSAGE to the
    # recipient, its 200), a refused one 2; each sender adds 20 for its
    # set-up and tear-down (two REGISTER exchanges, a 407, two removals:
    # measured at rest, where steps without retransmission show exactly
    # that). What is left is retransmissions and other traffic.
    jq -r --argjson c "$c" --argjson din $((in1 - in0)) --argjson drop $((drop1 - drop0)) '
      (.phases[-1]) as $m |
      ([$m.errors[]? | select(.error | test("503")) | .count] | add // 0) as $n503 |
      (($m.ok + $m.failed) / $m.seconds) as $offered |
      ($din - 4 * $m.ok - 2 * $n503 - 20 * $c) as $excess |
      "| \($c) | \($offered | floor) | \($m.per_second | floor) | \(if ($m.ok + $m.failed) > 0 then ($n503 * 1000 / ($m.ok + $m.failed) | floor) / 10 else 0 end)% | \($m.failed - $n503) | \($m.latency.p50_ms * 10 | floor / 10) | \($m.latency.p99_ms * 10 | floor / 10) | \($m.latency.max_ms | floor) | \(if $excess > 0 then $excess else 0 end) | \($drop) |"' "$d/c$c.json"
    sleep 2
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
done
