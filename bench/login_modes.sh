#!/bin/bash
# login_modes.sh: server CPU per xmpp-login for the classic login (RFC 6120
# SASL + bind), SASL2 with Bind 2 (XEP-0388, XEP-0386) and FAST tokens
# (XEP-0484), alternated ROUNDS times, each run on a fresh server.
#
#   BASE=/tmp/ct-main/crosstalk NEW=./crosstalk CTLOAD=./ctload ROUNDS=4 bench/login_modes.sh
#
# BASE (optional) is a baseline binary, run classic only; NEW runs all three
# modes. Each run: SQLite, archive off, 100 accounts user1..100/secret on
# 127.0.0.77 (the compare.sh configuration), then
#   ctload -n $N -c 50 -d 60s xmpp-login [-sasl2|-fast]  (with -pid).
# Prints one line a run: round, binary, mode, ok/attempted, server CPU µs
# per login, logins/s; the JSON results stay in $OUT.
set -u
NEW=${NEW:?the server binary to measure} CTLOAD=${CTLOAD:?the ctload binary}
BASE=${BASE:-} ROUNDS=${ROUNDS:-3} N=${N:-4000}
OUT=${OUT:-$(mktemp -d /tmp/login_modes.XXXX)}

run() { # BIN MODE JSON
  local bin=$1 mode=$2 json=$3 d pid extra=
  d=$(mktemp -d "$OUT/run.XXXX")
  cat > "$d/crosstalk.toml" <<EOT
domains = ["bench.test"]
data_dir = "$d"
archive = false
[tls]
post_quantum = false
[listen]
xmpp_c2s = "127.0.0.77:25222"
xmpp_tls = "127.0.0.77:25223"
xmpp_s2s = ""
sip_udp = ""
sip_tcp = ""
sip_tls = ""
https = "127.0.0.77:28443"
[limits]
connections_per_ip = 100000
login_failures_per_minute = 100000
[log]
level = "warn"
format = "json"
EOT
  for i in $(seq 1 100); do echo secret | "$bin" user add "user$i@bench.test" --config "$d/crosstalk.toml" >/dev/null; done
  (ulimit -n 20000; exec "$bin" serve --config "$d/crosstalk.toml" >"$d/out.log" 2>&1) &
  pid=$!
  for _ in $(seq 50); do ss -H -ltn "src 127.0.0.77 and sport = :25222" | grep -q . && break; sleep 0.2; done
  sleep 1
  case $mode in sasl2) extra=-sasl2 ;; fast) extra=-fast ;; esac
  "$CTLOAD" -q -json "$json" -xmpp 127.0.0.77:25222 -ca "$d/tls-cert.pem" -domain bench.test -password secret \
    -accounts 100 -pid "$pid" -n "$N" -c 50 -d 60s xmpp-login $extra
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$d"
}

for r in $(seq 1 "$ROUNDS"); do
  configs=("new classic" "new sasl2" "new fast")
  [ -n "$BASE" ] && configs=("base classic" "${configs[@]}")
  for c in "${configs[@]}"; do
    set -- $c
    bin=$NEW; [ "$1" = base ] && bin=$BASE
    json=$OUT/$1-$2-$r.json
    run "$bin" "$2" "$json"
    echo "$r $1 $2 $(jq -r '.phases[-1] | "\(.ok)/\(.attempted) \(.server_cpu_us_per_op) µs/login \(.per_second|floor)/s"' "$json")"
  done
done
