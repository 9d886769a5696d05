# bench/sipp.sh — sourced by bench/compare.sh: the sipp suite (issue 4).
# The same sipp scenarios (bench/sipp/*.xml) against Kamailio and Crosstalk
# as ladders of offered rates: digest REGISTER, and MESSAGE relayed to a
# sipp UAS, from a local user with digest (auth) and from a user of another
# domain without (ext). Uses the variables and helpers of compare.sh
# (RES, STEP, DOMAIN, PASSWORD, ACCOUNTS, cpu_ticks, settle, log).
#
# One step: K = ceil(rate / SIPP_PER_UAC) sipp UACs in parallel, on their
# own ports, each placing rate/K calls a second for STEP seconds (-m, -r).
# A step is clean when every UAC exits 0, every call placed succeeded
# (sipp's SuccessfulCall equals the calls placed; FailedCall is 0), the
# achieved rate (successful calls over the wall time of the slowest UAC)
# is at least 95% of the offered one and, for MESSAGE, the UAS answered at
# least as many MESSAGEs as the UACs had 200s for (a server that answers
# 200 without delivering would otherwise pass). Server CPU is the server's
# utime+stime over the step (UACs and the UAS's last second) per
# successful call; sipp's own CPU is from /usr/bin/time (UACs) and /proc
# (the UAS, read before it is told to quit).

SIPP_IP=${SIPP_IP:-127.0.0.1}   # where the sipp instances listen
SIPP_PORT=${SIPP_PORT:-16000}   # UACs on SIPP_PORT+1…, the UAS on SIPP_PORT+100
SIPP_PER_UAC=5000               # calls/s one sipp UAC is asked to place at most
SIPP_RCPT=16                    # MESSAGE recipients user4001…, bound to the UAS
SIPP_RCPT_FIRST=4001
SIPP_REG_RATES=${SIPP_REG_RATES:-"1000 2000 5000 8000 10000"}
SIPP_MSG_RATES=${SIPP_MSG_RATES:-"2000 5000 8000 10000 12000 15000"}
SIPP_KINDS=${SIPP_KINDS:-"register auth ext"} # which ladders sipp_suite runs
if [ "$QUICK" = 1 ]; then SIPP_REG_RATES=${SIPP_REG_RATES_QUICK:-"1000 2000"} SIPP_MSG_RATES=${SIPP_MSG_RATES_QUICK:-"1000 2000"}; fi
SIPP_DIR=bench/sipp
CLK_TCK=$(getconf CLK_TCK)

# sipp_stat FILE FIELD: FIELD of the last line of a sipp -trace_stat file.
sipp_stat() {
  awk -F';' -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == f) c = i; next } { v = $c } END { print (c && v != "") ? v : 0 }' "$1" 2>/dev/null || echo 0
}

# sipp_csv KIND INSTANCE: the injection file (fields per scenario: see the
# XML) for one UAC instance.
sipp_csv() {
  local kind=$1 k=$2 i j
  echo SEQUENTIAL
  for ((i = 1; i <= ACCOUNTS; i++)); do
    j=$((SIPP_RCPT_FIRST + (i - 1) % SIPP_RCPT))
    case $kind in
      register) echo "user$i;$((SIPP_PORT + k));$DOMAIN;[authentication username=user$i password=$PASSWORD]";;
      auth) echo "user$i;user$j;$DOMAIN;[authentication username=user$i password=$PASSWORD]";;
      ext) echo "ext$i;user$j;$DOMAIN;example.net";;
    esac
  done
}

# sipp_register_rcpt SERVER: bind the recipients user4001… to the UAS port
# (one-off REGISTER with digest per recipient, before each MESSAGE step).
sipp_register_rcpt() {
  local d=$WORK/sipp i
  mkdir -p "$d"
  { echo SEQUENTIAL
    for ((i = SIPP_RCPT_FIRST; i < SIPP_RCPT_FIRST + SIPP_RCPT; i++)); do
      echo "user$i;$((SIPP_PORT + 100));$DOMAIN;[authentication username=user$i password=$PASSWORD]"
    done; } > "$d/rcpt.csv"
  (cd "$d" && sipp -sf "$OLDPWD/$SIPP_DIR/register.xml" -inf rcpt.csv -i "$SIPP_IP" -p "$((SIPP_PORT + 99))" \
    -m "$SIPP_RCPT" -l 1 -nostdin -trace_err -timeout 10s -timeout_error "$1" >/dev/null 2>&1) ||
    { log "sipp: registering the recipients at $1 failed"; return 1; }
}

# sipp_step NAME KIND SCENARIO RATE SERVER PID: one ladder step; writes
# $RES/NAME.step.json.
sipp_step() {
  local name=$1 kind=$2 sc=$3 rate=$4 server=$5 pid=$6
  local d=$WORK/sipp/$name.$rate k n pids=() uas="" uas_ticks=0
  rm -rf "$d"; mkdir -p "$d"
  n=$(((rate + SIPP_PER_UAC - 1) / SIPP_PER_UAC))
  if [ "$kind" != register ]; then
    (cd "$d" && exec sipp -sf "$OLDPWD/$SIPP_DIR/message_uas.xml" \
      -i "$SIPP_IP" -p "$((SIPP_PORT + 100))" -nostdin -trace_stat -stf uas.stat -fd 1 -trace_err -timeout $((STEP + 40))s >uas.out 2>&1) &
    uas=$! # the -timeout ends it should this script be stopped
    wait_listen udp "$SIPP_IP" $((SIPP_PORT + 100)) && kill -0 "$uas" 2>/dev/null ||
      log "sipp: the UAS did not start (port $((SIPP_PORT + 100)) taken?): its MESSAGEs will count as lost"
    # Bound afresh each step: a server may forget a binding that stopped
    # answering in a failed step (Crosstalk does), and the retry or the
    # next ladder would then measure offline storage (202), not relaying.
    sipp_register_rcpt "$server" || true
  fi
  local t0 t1 c0 c1
  c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
  for ((k = 1; k <= n; k++)); do
    sipp_csv "$kind" "$k" > "$d/uac$k.csv"
    local args=(-sf "$PWD/$SIPP_DIR/$sc" -inf "uac$k.csv" -i "$SIPP_IP" -p "$((SIPP_PORT + k))"
      -m $((rate * STEP / n)) -r $((rate / n)) -rp 1000 -nostdin -trace_stat -stf "uac$k.stat" -fd 1
      -trace_err -timeout $((STEP + 15))s -timeout_error "$server")
    [ "$k" = 1 ] && echo "sipp ${args[*]}  # ×$n in parallel, ports $((SIPP_PORT + 1))…" | sed "s|$PWD/||" >> "$RES/$name.cmd"
    (cd "$d" && { /usr/bin/time -f '%e %U %S' -o "uac$k.time" sipp "${args[@]}" >"uac$k.out" 2>&1; echo $? > "uac$k.rc"; }) &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  t1=$(date +%s.%N)
  if [ -n "$uas" ]; then
    sleep 1 # what the server still has in flight
    uas_ticks=$(cpu_ticks "$uas")
    kill -USR1 "$uas" 2>/dev/null || true
    wait "$uas" || true
  fi
  c1=$(cpu_ticks "$pid")
  local ok=0 failed=0 retrans=0 unexpected=0 rcfail=0 placed=0 cpu_s=0 uas_ok=0 uas_cpu=0 f
  for ((k = 1; k <= n; k++)); do
    f=$d/uac$k.stat
    ok=$((ok + $(sipp_stat "$f" 'SuccessfulCall(C)')))
    failed=$((failed + $(sipp_stat "$f" 'FailedCall(C)')))
    retrans=$((retrans + $(sipp_stat "$f" 'Retransmissions(C)')))
    unexpected=$((unexpected + $(sipp_stat "$f" 'OutOfCallMsgs(C)')))
    placed=$((placed + $(sipp_stat "$f" 'OutgoingCall(C)')))
    [ "$(cat "$d/uac$k.rc" 2>/dev/null)" = 0 ] || rcfail=$((rcfail + 1))
    # The last line ("Command exited with non-zero status" may come first).
    cpu_s=$(awk -v a="$cpu_s" 'END { print a + $2 + $3 }' "$d/uac$k.time" 2>/dev/null || echo "$cpu_s")
  done
  if [ -n "$uas" ]; then
    uas_ok=$(sipp_stat "$d/uas.stat" 'SuccessfulCall(C)')
    uas_cpu=$(awk -v t="$uas_ticks" -v hz="$CLK_TCK" 'BEGIN { print t / hz }')
  fi
  # Calls placed but neither succeeded nor failed (sipp gave up at its
  # -timeout) count as failed; so do MESSAGEs answered 200 that the UAS
  # never saw.
  local want=$((rate * STEP / n * n)) lost=0
  if [ $((want - ok)) -gt "$failed" ]; then failed=$((want - ok)); fi
  if [ -n "$uas" ] && [ "$uas_ok" -lt "$ok" ]; then lost=$((ok - uas_ok)); fi
  jq -n --arg kind "$kind" --argjson rate "$rate" --argjson uacs "$n" --argjson want "$want" \
    --argjson placed "$placed" --argjson ok "$ok" --argjson failed "$failed" --argjson lost "$lost" \
    --argjson rcfail "$rcfail" --argjson retrans "$retrans" --argjson unexpected "$unexpected" \
    --argjson uas_ok "$uas_ok" --argjson t0 "$t0" --argjson t1 "$t1" --argjson ticks $((c1 - c0)) \
    --argjson hz "$CLK_TCK" --argjson sipp_cpu "$cpu_s" --argjson uas_cpu "$uas_cpu" '
    {kind: $kind, rate: $rate, uacs: $uacs, calls: $want, placed: $placed, ok: $ok,
     failed: ($failed + $lost), lost: $lost, uac_exit_failures: $rcfail, retransmissions: $retrans,
     unexpected: $unexpected, uas_ok: $uas_ok, seconds: ($t1 - $t0),
     per_second: ($ok / ($t1 - $t0)),
     server_cpu_us_per_op: (if $ok > 0 then $ticks * 1e6 / $hz / $ok else null end),
     sipp_cpu_us_per_op: (if $ok > 0 then ($sipp_cpu + $uas_cpu) * 1e6 / $ok else null end)}' > "$RES/$name.step.json"
}

# sipp_ladder NAME KIND SCENARIO RATES SERVER PID: the highest offered rate
# with zero failures, as ladder in compare.sh (a failing step is tried once
# more after settling); keeps NAME.json and NAME.fail.json.
sipp_ladder() {
  local name=$1 kind=$2 sc=$3 rates=$4 server=$5 pid=$6 r ok try f=$RES/$1.step.json
  rm -f "$RES/$name.json" "$RES/$name.fail.json"
  [ "$kind" = register ] || echo "sipp -sf $SIPP_DIR/message_uas.xml -i $SIPP_IP -p $((SIPP_PORT + 100)) -nostdin -trace_stat -stf uas.stat -fd 1 -trace_err -timeout $((STEP + 40))s  # the UAS, per step; recipients bound by: sipp -sf $SIPP_DIR/register.xml -inf rcpt.csv -i $SIPP_IP -p $((SIPP_PORT + 99)) -m $SIPP_RCPT -l 1 $server" >> "$RES/$name.cmd"
  for r in $rates; do
    ok=0
    for try in 1 2; do
      sipp_step "$name" "$kind" "$sc" "$r" "$server" "$pid"
      if jq -e '.failed == 0 and .uac_exit_failures == 0 and .ok == .calls and .per_second >= 0.95 * .rate' "$f" >/dev/null; then
        ok=1; break
      fi
      [ "$try" = 1 ] && settle "${SERVER_PIDS[@]}"
    done
    if [ "$ok" = 1 ]; then mv "$f" "$RES/$name.json"; else mv "$f" "$RES/$name.fail.json"; break; fi
    settle "${SERVER_PIDS[@]}"
  done
}

sipp_suite() { # PREFIX ADDR PID
  local p=$1 addr=$2 pid=$3
  local kind
  for kind in $SIPP_KINDS; do
    case $kind in
      register) log "$p sipp register"; sipp_ladder "$p.sipp-register" register register.xml "$SIPP_REG_RATES" "$addr" "$pid";;
      auth) log "$p sipp message (auth)"; sipp_ladder "$p.sipp-message-auth" auth message_auth.xml "$SIPP_MSG_RATES" "$addr" "$pid";;
      ext) log "$p sipp message (ext)"; sipp_ladder "$p.sipp-message-ext" ext message_ext.xml "$SIPP_MSG_RATES" "$addr" "$pid";;
      *) log "sipp: unknown ladder $kind (SIPP_KINDS: register auth ext)"; return 1;;
    esac
    settle "${SERVER_PIDS[@]}"
  done
}
