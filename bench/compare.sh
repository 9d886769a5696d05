#!/usr/bin/env bash
# bench/compare.sh — Crosstalk side by side with Prosody and ejabberd
# (XMPP, rooms) and Kamailio (SIP) on this machine (issues 7 and 8). Starts each server on its own
# loopback address with a private configuration under a temporary
# directory, runs the same cmd/ctload scenarios against each, and writes
# docs/benchmarks.md: machine, versions, exact commands, figures and each
# figure as a ratio to the best server.
#
# Rates are "highest offered rate with zero failures" (RFC 7501/7502):
# a ladder of offered rates, each held for $STEP seconds, stopping at the
# first step with a failure or with less than 95% of the offered rate
# achieved. Server CPU is utime+stime from /proc per operation, which the
# load generator sharing the cores cannot inflate.
#
# Crosstalk is measured when its XMPP and SIP listeners answer; until the
# frontends are merged its columns say so.
#
# SIP is measured twice. The sip-register and sip-message rows come from
# ctload (Go, sipgo): 32 user agents, digest answered pre-emptively on
# MESSAGE with the cached nonce, latency per operation, but ~60–95 µs of
# ctload CPU per MESSAGE on the cores the server uses. The sipp rows
# (bench/sipp.sh, scenarios in bench/sipp/, issue 4) come from sipp 3.6
# (Debian sip-tester, C++), as RFC 7502 benchmarks name it: REGISTER with a
# fresh 401 every call, MESSAGE with a 407 every call (auth) or from
# another domain without credentials (ext), relayed to a sipp UAS whose
# count of MESSAGEs received must cover the 200s; several sipp UACs in
# parallel, summed; sipp's own CPU per call is reported beside the
# server's. No latency figures from sipp.
#
# Needs: prosody, ejabberd, kamailio, sip-tester (sipp) (Debian), openssl,
# jq, curl, go, /usr/bin/time. Usage:
#   bench/compare.sh            # full run, ~20 minutes
#   QUICK=1 bench/compare.sh    # small numbers, ~1 minute, to check the script
#   OUT=/tmp/b.md bench/compare.sh
#   SCENARIOS=sip-register,sip-message OUT=/tmp/sip.md bench/compare.sh
#     # only those suites (idle, xmpp, presence, muc, sip, sip-register,
#     # sip-message, sipp, cross); servers no selected suite needs are not started
#   SCENARIOS=sipp OUT=/tmp/sipp.md bench/compare.sh   # sipp only, ~10 minutes
#   SCENARIOS=sipp SIPP_KINDS=ext SIPP_MSG_RATES="10000 12000 15000" OUT=/tmp/ext.md bench/compare.sh
#     # one sipp ladder (register, auth, ext), chosen steps
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-docs/benchmarks.md}
QUICK=${QUICK:-0}
SCENARIOS=${SCENARIOS:-all}
# want SUITE…: whether any of the suites is selected.
want() {
  [ "$SCENARIOS" = all ] && return 0
  local s
  for s in "$@"; do [[ ",$SCENARIOS," == *",$s,"* ]] && return 0; done
  return 1
}
DOMAIN=localhost
PASSWORD=secret
ACCOUNTS=200
PAIRS=50          # xmpp-chat pairs (100 accounts); ctload sends and matches raw
                  # stanza bytes after login (~10 µs of its CPU per message, go doc ./cmd/ctload)
SIP_PAIRS=32      # sip-message pairs (64 accounts)
LOGIN_N=3000      # xmpp-login operations, 50 in parallel
IDLE_N=5000       # xmpp-idle sessions
STEP=5            # seconds per ladder step
CHAT_RATES="1000 2000 5000 10000 15000 20000 25000 30000 40000 50000 60000 70000"  # the top steps go past the 50,000/s target, so that a clean 50,000 is not the ladder's ceiling
REG_RATES="1000 2000 5000 8000 10000 12000 15000 20000"
MSG_RATES="1000 2000 5000 8000 10000 12000 15000 20000"
PRES20_ACCOUNTS=189  # 9 groups of 21, accounts user1001…
PRES20_RATES="100 250 500 1000 1500 2000 3000"  # status changes/s (×20 deliveries)
PRES150_N=1000       # status changes to rosters of 150, accounts user2001…user2151
MUC_FIRST=3001       # muc: one account per occupant, user3001…
MUC_N=500            # occupants of the one room
MUC_FANOUT=20        # fan-out rounds (one message into the full room each)
MUC_SENDERS=10       # busy-room senders
MUC_BUSY=10          # busy-room seconds
if [ "$QUICK" = 1 ]; then
  LOGIN_N=200 IDLE_N=200 STEP=2 ACCOUNTS=100 PAIRS=10 SIP_PAIRS=8
  CHAT_RATES="1000 5000" REG_RATES="1000 5000" MSG_RATES="1000 5000"
  PRES20_ACCOUNTS=42 PRES20_RATES="100 250" PRES150_N=100
  MUC_N=50 MUC_FANOUT=5 MUC_BUSY=2
fi

# Loopback addresses of the servers (ctload refuses anything else).
# Override them to run beside another run of this script.
PROSODY_IP=${PROSODY_IP:-127.0.0.21} KAMAILIO_IP=${KAMAILIO_IP:-127.0.0.22} CROSSTALK_IP=${CROSSTALK_IP:-127.0.0.23}
EJABBERD_IP=${EJABBERD_IP:-127.0.0.24}
XMPP_PORT=15222 XMPP_TLS_PORT=15223 SIP_PORT=15060 EJABBERD_API_PORT=15280
MUC_HOST=conference.$DOMAIN

WORK=$(mktemp -d /tmp/ctload-bench.XXXXXX)
RES=${RESULTS:-$(mktemp -d /tmp/ctload-results.XXXXXX)} # kept: the JSON of every run
mkdir -p "$RES"
SERVER_PIDS=()
cleanup() {
  for p in "${SERVER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

# wait_listen PROTO IP PORT: wait up to 15 s for a listening socket.
wait_listen() {
  local flag=-ltn; [ "$1" = udp ] && flag=-lun
  for _ in $(seq 1 150); do
    ss -H "$flag" "src $2 and sport = :$3" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# cpu_ticks PID: utime+stime of a process and its children, in ticks.
cpu_ticks() {
  local t=0 p
  local n
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    # A child may exit between the listing and the read (ejabberd's helper
    # processes come and go): it then counts as 0, never as an error.
    n=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || true
    t=$((t + ${n:-0}))
  done
  echo "$t"
}

# settle PID…: wait (up to 30 s) until each server uses under 5% of a core,
# so that one server's backlog does not slow the next measurement.
settle() {
  local p a b quiet
  for p in "$@"; do
    quiet=0
    for _ in $(seq 1 30); do
      a=$(cpu_ticks "$p"); sleep 1; b=$(cpu_ticks "$p")
      if [ $((b - a)) -le 5 ]; then quiet=1; break; fi
    done
    # Not quiet after 30 s: say so and go on (returning non-zero here ended
    # the whole run under set -e).
    [ "$quiet" = 1 ] || log "server $p still busy after 30 s ($((b - a)) ticks/s)"
  done
  return 0
}

# fill TEMPLATE KEY=VALUE…: print a bench/ template with @KEY@ replaced.
fill() {
  local t=$1; shift
  local args=()
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "bench/$t"
}

. bench/sipp.sh # the sipp suite (sipp_suite)

log "building ctload and crosstalk"
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/ctload" ./cmd/ctload
go build -o "$WORK/bin/crosstalk" ./cmd/crosstalk
CTLOAD=$WORK/bin/ctload
# hostspeed: Go's own TLS 1.3 handshake rate on this host, client and
# server in one process and nothing else (BenchmarkHandshake in
# internal/tlscert, 3 runs of 3,000, median), taken before and after the
# servers run: these are virtual machines whose speed moves within an
# hour, and a run's figures are read against it.
go test -c -o "$WORK/bin/tlscert.test" ./internal/tlscert
hostspeed() {
  "$WORK/bin/tlscert.test" -test.run '^$' -test.bench '^BenchmarkHandshake$' -test.benchtime 3000x -test.count 3 2>/dev/null |
    awk '/handshakes\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "handshakes/s") print $i }' | sort -n | sed -n 2p
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=$DOMAIN" \
  -addext "subjectAltName=DNS:$DOMAIN,DNS:$MUC_HOST" 2>/dev/null

# all_accounts: the numbers of every account the runs use.
all_accounts() {
  seq 1 "$ACCOUNTS"; seq 1001 $((1000 + PRES20_ACCOUNTS)); seq 2001 2151
  seq "$MUC_FIRST" $((MUC_FIRST + MUC_N - 1))
  seq "$SIPP_RCPT_FIRST" $((SIPP_RCPT_FIRST + SIPP_RCPT - 1)) # sipp MESSAGE recipients
}

# ---- servers ---------------------------------------------------------------

start_prosody() {
  local d=$WORK/prosody; mkdir -p "$d/data"
  fill prosody.cfg.lua.in DIR="$d" ADDR=$PROSODY_IP PORT=$XMPP_PORT TLSPORT=$XMPP_TLS_PORT DOMAIN=$DOMAIN \
    CERT="$WORK/cert.pem" KEY="$WORK/key.pem" MUC=$MUC_HOST > "$d/prosody.cfg.lua"
  log "prosody: registering $(all_accounts | wc -l) accounts"
  all_accounts | xargs -P 4 -I{} prosodyctl --config "$d/prosody.cfg.lua" register "user{}" $DOMAIN $PASSWORD >/dev/null 2>&1
  prosody_rosters "$d" 1001 "$PRES20_ACCOUNTS" 20
  prosody_rosters "$d" 2001 151 150
  (ulimit -n 20000; exec prosody --config "$d/prosody.cfg.lua" -F >"$d/out.log" 2>&1) &
  PROSODY_PID=$!; SERVER_PIDS+=("$PROSODY_PID")
  wait_listen tcp $PROSODY_IP $XMPP_PORT || { cat "$d/out.log"; exit 1; }
  wait_listen tcp $PROSODY_IP $XMPP_TLS_PORT || { cat "$d/out.log"; exit 1; }
}

# prosody_rosters DIR FIRST SESSIONS CONTACTS: write full-mesh rosters
# (subscription both) for groups of CONTACTS+1 accounts userFIRST… into
# Prosody's storage, as an operator's existing rosters would be.
prosody_rosters() {
  local dir=$1/data/$DOMAIN/roster first=$2 n=$3 k=$4 i j g
  mkdir -p "$dir"
  for ((i = 0; i < n; i++)); do
    g=$((i / (k + 1) * (k + 1)))
    {
      echo 'return {'
      echo '	[false] = { ["version"] = 1; ["pending"] = {}; };'
      for ((j = g; j <= g + k; j++)); do
        [ "$j" = "$i" ] && continue
        echo "	[\"user$((first + j))@$DOMAIN\"] = { [\"subscription\"] = \"both\"; [\"groups\"] = {}; };"
      done
      echo '};'
    } > "$dir/user$((first + i)).dat"
  done
}

start_kamailio() {
  local d=$WORK/kamailio; mkdir -p "$d"
  fill kamailio.cfg.in ADDR=$KAMAILIO_IP PORT=$SIP_PORT DOMAIN=$DOMAIN PASSWORD=$PASSWORD CHILDREN=4 > "$d/kamailio.cfg"
  kamailio -f "$d/kamailio.cfg" -DD -E -w "$d" -P "$d/kamailio.pid" -m 1024 -M 32 >"$d/out.log" 2>&1 &
  KAMAILIO_PID=$!; SERVER_PIDS+=("$KAMAILIO_PID")
  wait_listen udp $KAMAILIO_IP $SIP_PORT || { cat "$d/out.log"; exit 1; }
}

# start_ejabberd runs ejabberd from Debian as a child of this script: the
# Erlang VM started directly (not through ejabberdctl, which would su to the
# ejabberd user) with the configuration, Mnesia and logs under $WORK, and
# without Erlang distribution — no node name, no cookie, no epmd — so it
# cannot meet a system ejabberd or another Erlang node on the machine (the
# Debian package's own service is never started here). The VM's
# schedulers do not busy-wait (+sbwt none …): on two shared cores spinning
# would take time from the load generator and count as server CPU.
# Accounts and rosters are created through mod_http_api on the loopback
# address (one HTTP request per account, ~15 ms, 4 at a time), not by
# ejabberdctl, which starts a VM per call (~1 s each).
start_ejabberd() {
  local d=$WORK/ejabberd libs; mkdir -p "$d/db"
  # Where Debian keeps ejabberd's Erlang applications (ejabberdctl knows).
  libs=$(sed -n "s/^ERL_LIBS='\(.*\)'$/\1/p" "$(command -v ejabberdctl)")
  for port in $XMPP_PORT $XMPP_TLS_PORT $EJABBERD_API_PORT; do
    if ss -H -ltn "src $EJABBERD_IP and sport = :$port" | grep -q .; then
      log "ejabberd: $EJABBERD_IP:$port is taken by another process"; exit 1
    fi
  done
  fill ejabberd.yml.in DOMAIN=$DOMAIN ADDR=$EJABBERD_IP PORT=$XMPP_PORT TLSPORT=$XMPP_TLS_PORT HTTPPORT=$EJABBERD_API_PORT \
    CERT="$WORK/cert.pem" KEY="$WORK/key.pem" MUC=$MUC_HOST > "$d/ejabberd.yml"
  (ulimit -n 20000; cd "$d"; ERL_LIBS=$libs EJABBERD_CONFIG_PATH=$d/ejabberd.yml \
    EJABBERD_LOG_PATH=$d/ejabberd.log ERL_MAX_PORTS=32768 ERL_CRASH_DUMP=$d/erl_crash.dump \
    exec erl -noinput -noshell +K true +P 1000000 +sbwt none +sbwtdcpu none +sbwtdio none \
    -mnesia dir "\"$d/db\"" -s ejabberd >"$d/out.log" 2>&1) &
  EJABBERD_PID=$!; SERVER_PIDS+=("$EJABBERD_PID")
  wait_listen tcp $EJABBERD_IP $EJABBERD_API_PORT || { cat "$d/out.log"; exit 1; }
  wait_listen tcp $EJABBERD_IP $XMPP_PORT || { cat "$d/out.log"; exit 1; }
  wait_listen tcp $EJABBERD_IP $XMPP_TLS_PORT || { cat "$d/out.log"; exit 1; }
  log "ejabberd: registering $(all_accounts | wc -l) accounts"
  all_accounts | sed "s/.*/{\"user\":\"user&\",\"host\":\"$DOMAIN\",\"password\":\"$PASSWORD\"}/" |
    xargs -d '\n' -P 4 -I{} curl -sf -o /dev/null -X POST -d '{}' "http://$EJABBERD_IP:$EJABBERD_API_PORT/api/register" ||
    log "ejabberd: some registrations failed"
  ejabberd_rosters "$d" 1001 "$PRES20_ACCOUNTS" 20
  ejabberd_rosters "$d" 2001 151 150
}

# ejabberd_rosters DIR FIRST SESSIONS CONTACTS: the same full-mesh rosters
# as prosody_rosters, through mod_admin_extra's push_roster: one Erlang
# term file per group, pushed into each member's roster (subscription
# both; ejabberd leaves the member itself out).
ejabberd_rosters() {
  local dir=$1 first=$2 n=$3 k=$4 i g f
  for ((g = 0; g < n; g += k + 1)); do
    f=$dir/roster-$((first + g)).term
    {
      echo -n '['
      for ((i = g; i <= g + k && i < n; i++)); do
        [ "$i" = "$g" ] || echo -n ','
        echo -n "{<<\"user$((first + i))\">>,<<\"$DOMAIN\">>,<<\"bench\">>,<<\"user$((first + i))\">>}"
      done
      echo '].'
    } > "$f"
    for ((i = g; i <= g + k && i < n; i++)); do
      echo "{\"file\":\"$f\",\"user\":\"user$((first + i))\",\"host\":\"$DOMAIN\"}"
    done
  done | xargs -d '\n' -P 4 -I{} curl -sf -o /dev/null -X POST -d '{}' "http://$EJABBERD_IP:$EJABBERD_API_PORT/api/push_roster" ||
    log "ejabberd: some roster pushes failed"
}

# start_crosstalk sets CT_XMPP and CT_SIP to 1 when those listeners answer.
start_crosstalk() {
  local d=$WORK/crosstalk; mkdir -p "$d"
  cat > "$d/crosstalk.toml" <<EOF
domains = ["$DOMAIN"]
data_dir = "$d"
archive = false   # the Prosody set-up keeps no archive either
[tls]
# Prosody and ejabberd here link OpenSSL 3.0, which has no ML-KEM: their
# handshakes use X25519. Crosstalk does the same (its default adds
# X25519MLKEM768, which Go prefers whenever ctload offers it).
post_quantum = false
[listen]
xmpp_c2s = "$CROSSTALK_IP:$XMPP_PORT"
xmpp_tls = "$CROSSTALK_IP:$XMPP_TLS_PORT"
xmpp_s2s = ""
sip_udp = "$CROSSTALK_IP:$SIP_PORT"
sip_tcp = "$CROSSTALK_IP:$SIP_PORT"
sip_tls = "$CROSSTALK_IP:15061"
https = "$CROSSTALK_IP:18443"
[limits]
connections_per_ip = 100000
login_failures_per_minute = 100000
[sip]
# Kamailio runs without a per-source limit (no pike): so does Crosstalk here.
requests_per_second = 1000000
request_burst = 1000000
# MD5 offered first, as Kamailio's only: sipp 3.6 answers only the first
# challenge and knows only MD5; ctload picks SHA-256 from the second.
digest_algorithms = ["MD5", "SHA-256"]
[log]
level = "warn"
format = "json"
EOF
  (ulimit -n 20000; exec "$WORK/bin/crosstalk" serve --config "$d/crosstalk.toml" >"$d/out.log" 2>&1) &
  CROSSTALK_PID=$!; SERVER_PIDS+=("$CROSSTALK_PID")
  CT_XMPP=0 CT_SIP=0
  if ! wait_listen tcp $CROSSTALK_IP 18443; then
    log "crosstalk did not start:"; tail -5 "$d/out.log" >&2; return 0
  fi
  sleep 1 # the listeners start with the HTTPS one
  ss -H -ltn "src $CROSSTALK_IP and sport = :$XMPP_PORT" | grep -q . && CT_XMPP=1
  ss -H -lun "src $CROSSTALK_IP and sport = :$SIP_PORT" | grep -q . && CT_SIP=1
  if [ "$CT_XMPP$CT_SIP" != 00 ]; then
    # The command line writes the store directly; the running server sees
    # an account at its first login.
    log "crosstalk: creating $(all_accounts | wc -l) accounts"
    for i in $(all_accounts); do
      echo "$PASSWORD" | "$WORK/bin/crosstalk" user add "user$i@$DOMAIN" --config "$d/crosstalk.toml" >/dev/null || log "crosstalk: user add user$i failed"
    done
  fi
  CT_CA=$d/tls-cert.pem
}

# ---- runs ------------------------------------------------------------------

# ct NAME ARGS…: run ctload, keep its JSON as NAME.json and the command line.
ct() {
  local name=$1; shift
  echo "ctload $*" >> "$RES/$name.cmd"
  "$CTLOAD" -q -json "$RES/$name.json" "$@" 2>>"$WORK/ctload.log" || true
}

# ladder NAME RATES FACTOR ARGS…: the highest offered rate with zero
# failures; FACTOR is how many counted operations one offered operation
# makes (presence deliveries per status change).
# Keeps the best step as NAME.json (and the failing one as NAME.fail.json).
# A failing step is tried once more after a pause (the machine is shared),
# and the ladder stops when it fails twice.
ladder() {
  local name=$1 rates=$2 factor=$3; shift 3
  rm -f "$RES/$name.json" "$RES/$name.fail.json"
  for r in $rates; do
    local f=$RES/$name.step.json ok=0
    for try in 1 2; do
      echo "ctload -rate $r -n $((r * STEP)) -d ${STEP}s $*" >> "$RES/$name.cmd"
      "$CTLOAD" -q -json "$f" -rate "$r" -n $((r * STEP)) -d "${STEP}s" "$@" 2>>"$WORK/ctload.log" || true
      [ -s "$f" ] || break
      if jq -e --argjson r "$((r * factor))" '([.phases[].failed] | add) == 0 and .phases[-1].per_second >= 0.95 * $r' "$f" >/dev/null; then
        ok=1; break
      fi
      [ "$try" = 1 ] && settle "${SERVER_PIDS[@]}"
    done
    if [ "$ok" = 1 ]; then
      mv "$f" "$RES/$name.json"
    else
      [ -s "$f" ] && mv "$f" "$RES/$name.fail.json"
      break
    fi
    settle "${SERVER_PIDS[@]}"
  done
}

xmpp_suite() { # PREFIX ADDR CA PID TLSADDR
  local p=$1 addr=$2 ca=$3 pid=$4 tlsaddr=$5
  local c=(-xmpp "$addr" -ca "$ca" -domain $DOMAIN -password $PASSWORD -accounts "$ACCOUNTS" -pid "$pid")
  # Logins offer X25519 only: every server here settles on it (OpenSSL 3.0
  # has no ML-KEM, Crosstalk runs with post_quantum = false), and the
  # X25519MLKEM768 share Go's client adds by default (~50 µs of ctload CPU
  # a login) would be thrown away on the cores the servers use.
  local l=(-tls-groups x25519 -n "$LOGIN_N" -c 50 -d 60s xmpp-login)
  local d=(-xmpp "$tlsaddr" -ca "$ca" -domain $DOMAIN -password $PASSWORD -accounts "$ACCOUNTS" -pid "$pid" -direct-tls)
  log "$p xmpp-login"; ct "$p.login" "${c[@]}" "${l[@]}"; settle "${SERVER_PIDS[@]}"
  # XEP-0368 direct TLS, with full handshakes, then resumed ones (a
  # client's reconnection with its session ticket).
  log "$p xmpp-login -direct-tls"; ct "$p.login-direct" "${d[@]}" "${l[@]}"; settle "${SERVER_PIDS[@]}"
  log "$p xmpp-login -direct-tls -tls-resume"; ct "$p.login-resume" "${d[@]}" "${l[@]}" -tls-resume; settle "${SERVER_PIDS[@]}"
  # The TLS handshake alone (xmpp-tls: the login's steps up to its end,
  # then close_notify), over STARTTLS and direct TLS: the part of a login
  # every server does alike, and the most ctload and the server reach
  # together on these two cores before any SASL or bind.
  local t=(-tls-groups x25519 -n "$LOGIN_N" -c 50 -d 60s xmpp-tls)
  log "$p xmpp-tls"; ct "$p.tls" "${c[@]}" "${t[@]}"; settle "${SERVER_PIDS[@]}"
  log "$p xmpp-tls -direct-tls"; ct "$p.tls-direct" "${d[@]}" "${t[@]}"; settle "${SERVER_PIDS[@]}"
  if [ "$p" = crosstalk ]; then
    # SASL2 + Bind 2 and FAST (XEP-0388/0386/0484): Debian's Prosody 0.12 and
    # ejabberd 23.01 have neither, so these rows are Crosstalk's only.
    log "$p xmpp-login -sasl2"; ct "$p.login-sasl2" "${c[@]}" "${l[@]}" -sasl2; settle "${SERVER_PIDS[@]}"
    log "$p xmpp-login -fast"; ct "$p.login-fast" "${c[@]}" "${l[@]}" -fast; settle "${SERVER_PIDS[@]}"
    # How a modern client (Conversations) reconnects: direct TLS resumed,
    # SASL2 with a FAST token, Bind 2.
    log "$p xmpp-login -direct-tls -tls-resume -fast"; ct "$p.login-modern" "${d[@]}" "${l[@]}" -tls-resume -fast; settle "${SERVER_PIDS[@]}"
    # The same clients pipelining: once they know the server, the SASL2
    # <authenticate/> goes right behind the stream header (-quickstart),
    # with the password (SCRAM), then with a FAST token.
    log "$p xmpp-login -direct-tls -tls-resume -quickstart"; ct "$p.login-quick" "${d[@]}" "${l[@]}" -tls-resume -quickstart; settle "${SERVER_PIDS[@]}"
    log "$p xmpp-login -direct-tls -tls-resume -quickstart -fast"; ct "$p.login-quickfast" "${d[@]}" "${l[@]}" -tls-resume -quickstart -fast; settle "${SERVER_PIDS[@]}"
  fi
  log "$p xmpp-chat";  ladder "$p.chat" "$CHAT_RATES" 1 "${c[@]}" -c "$PAIRS" -timeout 5s xmpp-chat; settle "${SERVER_PIDS[@]}"
}

presence_suite() { # PREFIX ADDR CA PID — rosters of 20 (a ladder) and of 150 (one unpaced run)
  local p=$1 addr=$2 ca=$3 pid=$4
  local c=(-xmpp "$addr" -ca "$ca" -domain $DOMAIN -password $PASSWORD -pid "$pid")
  local g20=(-first 1001 -accounts "$PRES20_ACCOUNTS" -contacts 20) g150=(-first 2001 -accounts 151 -contacts 150)
  if [ "$SUBSCRIBE" = true ]; then
    # No provisioned rosters: one unmeasured run makes the subscriptions.
    log "$p xmpp-presence set-up: subscriptions"
    ct "$p.presence20-setup" "${c[@]}" "${g20[@]}" -n 1 -c 1 -d 60s -timeout 10s xmpp-presence
    ct "$p.presence150-setup" "${c[@]}" "${g150[@]}" -n 1 -c 1 -d 90s -timeout 10s xmpp-presence
    settle "${SERVER_PIDS[@]}"
  fi
  log "$p xmpp-presence, 20 contacts"
  ladder "$p.presence20" "$PRES20_RATES" 20 "${c[@]}" "${g20[@]}" -subscribe=false -c 8 -timeout 10s xmpp-presence
  settle "${SERVER_PIDS[@]}"
  log "$p xmpp-presence, 150 contacts"
  ct "$p.presence150" "${c[@]}" "${g150[@]}" -subscribe=false -c 8 -n "$PRES150_N" -d 90s -timeout 10s xmpp-presence
  settle "${SERVER_PIDS[@]}"
}

idle_suite() { # PREFIX ADDR CA PID
  local p=$1 addr=$2 ca=$3 pid=$4
  local c=(-xmpp "$addr" -ca "$ca" -domain $DOMAIN -password $PASSWORD -accounts "$ACCOUNTS" -pid "$pid")
  log "$p xmpp-idle";  ct "$p.idle" "${c[@]}" -n "$IDLE_N" -c 50 -d 120s -hold 5s -src 127.0.1.1-127.0.1.50 xmpp-idle; settle "${SERVER_PIDS[@]}"
}

# muc_suite PREFIX ADDR CA PID: one room of $MUC_N: join (10 at a time;
# a join may wait 30 s, as Prosody fans each join out to every occupant in
# one Lua thread: with 20 at a time and 10 s, a loaded machine made a fifth
# of its joins time out), fan-out, busy room.
muc_suite() {
  local p=$1 addr=$2 ca=$3 pid=$4
  log "$p muc, $MUC_N occupants"
  ct "$p.muc" -xmpp "$addr" -ca "$ca" -domain $DOMAIN -password $PASSWORD -pid "$pid" -muc $MUC_HOST \
    -first $MUC_FIRST -accounts $MUC_N -occupants $MUC_N -c 10 -fanout $MUC_FANOUT -senders $MUC_SENDERS \
    -busy ${MUC_BUSY}s -n 1000000 -d 300s -timeout 30s muc
  settle "${SERVER_PIDS[@]}"
}

sip_suite() { # PREFIX ADDR PID
  local p=$1 addr=$2 pid=$3
  local c=(-sip "$addr" -domain $DOMAIN -password $PASSWORD -pid "$pid")
  if want sip sip-register; then
    log "$p sip-register"; ladder "$p.register" "$REG_RATES" 1 "${c[@]}" -accounts "$ACCOUNTS" -c 32 -timeout 5s sip-register; settle "${SERVER_PIDS[@]}"
  fi
  if want sip sip-message; then
    log "$p sip-message";  ladder "$p.message" "$MSG_RATES" 1 "${c[@]}" -accounts $((2 * SIP_PAIRS)) -c "$SIP_PAIRS" -timeout 5s sip-message; settle "${SERVER_PIDS[@]}"
  fi
}

LOADAVG=$(cut -d" " -f1-3 /proc/loadavg)
HOSTSPEED_START=$(hostspeed)
log "host speed: $HOSTSPEED_START Go TLS handshakes/s"
want idle xmpp presence muc && start_prosody
want idle xmpp presence muc && start_ejabberd
want sip sip-register sip-message sipp && start_kamailio
start_crosstalk
log "crosstalk frontends: xmpp=$CT_XMPP sip=$CT_SIP; scenarios: $SCENARIOS"

# Idle first: memory per session is read on servers fresh from start.
if want idle; then
  idle_suite prosody "$PROSODY_IP:$XMPP_PORT" "$WORK/cert.pem" "$PROSODY_PID"
  idle_suite ejabberd "$EJABBERD_IP:$XMPP_PORT" "$WORK/cert.pem" "$EJABBERD_PID"
  [ "$CT_XMPP" = 1 ] && idle_suite crosstalk "$CROSSTALK_IP:$XMPP_PORT" "$CT_CA" "$CROSSTALK_PID"
fi
if want xmpp; then
  xmpp_suite prosody "$PROSODY_IP:$XMPP_PORT" "$WORK/cert.pem" "$PROSODY_PID" "$PROSODY_IP:$XMPP_TLS_PORT"
  xmpp_suite ejabberd "$EJABBERD_IP:$XMPP_PORT" "$WORK/cert.pem" "$EJABBERD_PID" "$EJABBERD_IP:$XMPP_TLS_PORT"
  [ "$CT_XMPP" = 1 ] && xmpp_suite crosstalk "$CROSSTALK_IP:$XMPP_PORT" "$CT_CA" "$CROSSTALK_PID" "$CROSSTALK_IP:$XMPP_TLS_PORT"
fi
if want sip sip-register sip-message; then
  sip_suite kamailio "$KAMAILIO_IP:$SIP_PORT" "$KAMAILIO_PID"
  [ "$CT_SIP" = 1 ] && sip_suite crosstalk "$CROSSTALK_IP:$SIP_PORT" "$CROSSTALK_PID"
fi
if want sipp; then
  sipp_suite kamailio "$KAMAILIO_IP:$SIP_PORT" "$KAMAILIO_PID"
  [ "$CT_SIP" = 1 ] && sipp_suite crosstalk "$CROSSTALK_IP:$SIP_PORT" "$CROSSTALK_PID"
fi
# Prosody's rosters are provisioned on disk; Crosstalk's, until it has a
# way to provision them, by one unmeasured ctload run that subscribes.
if want presence; then
  SUBSCRIBE=false presence_suite prosody "$PROSODY_IP:$XMPP_PORT" "$WORK/cert.pem" "$PROSODY_PID"
  [ "$CT_XMPP" = 1 ] && SUBSCRIBE=true presence_suite crosstalk "$CROSSTALK_IP:$XMPP_PORT" "$CT_CA" "$CROSSTALK_PID"
  # ejabberd's rosters are provisioned through its admin API, as Prosody's on disk.
  SUBSCRIBE=false presence_suite ejabberd "$EJABBERD_IP:$XMPP_PORT" "$WORK/cert.pem" "$EJABBERD_PID"
fi

# Rooms (issue 7): one room of $MUC_N occupants on each XMPP server.
if want muc; then
  muc_suite prosody "$PROSODY_IP:$XMPP_PORT" "$WORK/cert.pem" "$PROSODY_PID"
  muc_suite ejabberd "$EJABBERD_IP:$XMPP_PORT" "$WORK/cert.pem" "$EJABBERD_PID"
  [ "$CT_XMPP" = 1 ] && muc_suite crosstalk "$CROSSTALK_IP:$XMPP_PORT" "$CT_CA" "$CROSSTALK_PID"
fi

# ---- cross-protocol, Crosstalk only (issue 6): no other server here
# translates between XMPP and SIP. XMPP→SIP and SIP→XMPP in one ladder,
# each step -n/2 messages each way; the XMPP→XMPP and SIP→SIP figures
# above come from the same server in the same run.
CROSS_PAIRS=32 CROSS_RATES="1000 2000 5000 8000 10000 12000 15000 20000"
[ "$QUICK" = 1 ] && CROSS_PAIRS=8 CROSS_RATES="1000 2000"
if [ "$CT_XMPP$CT_SIP" = 11 ] && want cross; then
  log "crosstalk cross"
  ladder crosstalk.cross "$CROSS_RATES" 1 -xmpp "$CROSSTALK_IP:$XMPP_PORT" -ca "$CT_CA" -sip "$CROSSTALK_IP:$SIP_PORT" \
    -domain $DOMAIN -password $PASSWORD -accounts $((2 * CROSS_PAIRS)) -c "$CROSS_PAIRS" -timeout 5s -pid "$CROSSTALK_PID" cross
  settle "${SERVER_PIDS[@]}"
fi

HOSTSPEED_END=$(hostspeed)
log "host speed: $HOSTSPEED_END Go TLS handshakes/s"
log "writing $OUT"
. bench/report.sh > "$OUT"
log "done; JSON results in $RES"
