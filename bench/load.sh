#!/usr/bin/env bash
# Load benchmark: plain Caddy reverse_proxy, ai_auth + ai_gateway, and the
# full chain ai_auth + ai_credits + ai_gateway, in one Caddy process in front
# of the same fake upstream (cmd/fakeprovider). See bench/README.md.
#
#   bench/load.sh                  # the working tree
#   BENCH_REV=HEAD bench/load.sh   # the last commit
#   BENCH_QUICK=1 bench/load.sh    # a short run, to check the script
#
# It measures, in one run:
#   1. throughput and latency (wrk): JSON and stream chat completions, at each
#      of BENCH_CONCURRENCIES, the three targets in interleaved slices;
#   2. streaming time to first token (bench/ttft) with a paced upstream;
#   3. Caddy's RSS per open stream, with BENCH_STREAMS idle streams through
#      the full chain;
# and writes one table to bench/results.md.
#
# Environment (all optional):
#   BENCH_CONCURRENCIES   wrk connections, one measurement each    (default "1 16 128")
#   BENCH_DURATION        measured time per scenario, concurrency and target (default 10s)
#   BENCH_ROUNDS          interleaved slices the measured time is cut into (default 5)
#   BENCH_WARMUP          unmeasured run per scenario, concurrency and target (default 3s)
#   BENCH_THREADS         wrk threads (at most the concurrency)     (default 2)
#   BENCH_TTFT_CONCURRENCY  concurrent streams per target for TTFT  (default 16)
#   BENCH_TTFT_INTERVAL   pause between the paced upstream's events (default 20ms)
#   BENCH_STREAMS         idle streams held open for the RSS row    (default 10000)
#   BENCH_IDLE_HOLD       keep them open this much longer, e.g. for a heap profile (default 0s)
#   BENCH_FAKE_FLAGS      extra flags for cmd/fakeprovider          (default "-latency 0")
#   BENCH_PORT_BASE       first port tried for the listeners        (default 18780)
#   BENCH_REV             build Caddy from this git revision (e.g. HEAD) instead of
#                         the working tree; bench/ and the fake are the working tree's
#   BENCH_RESULTS         where the markdown report goes  (default bench/results.md;
#                         in quick mode only printed, unless set)
#   BENCH_QUICK=1         short run: 3s in 3 slices, 1s warm-ups, 1000 streams
#   BENCH_KEEP=1          keep the temp dir (binaries, logs, db, wrk output)
set -euo pipefail

QUICK=${BENCH_QUICK:-}
if [[ "$QUICK" == 1 ]]; then
	DURATION=${BENCH_DURATION:-3s}
	ROUNDS=${BENCH_ROUNDS:-3}
	WARMUP=${BENCH_WARMUP:-1s}
	STREAMS=${BENCH_STREAMS:-1000}
else
	DURATION=${BENCH_DURATION:-10s}
	ROUNDS=${BENCH_ROUNDS:-5}
	WARMUP=${BENCH_WARMUP:-3s}
	STREAMS=${BENCH_STREAMS:-10000}
fi
CONCURRENCIES=${BENCH_CONCURRENCIES:-1 16 128}
THREADS=${BENCH_THREADS:-2}
TTFT_CONC=${BENCH_TTFT_CONCURRENCY:-16}
TTFT_INTERVAL=${BENCH_TTFT_INTERVAL:-20ms}
IDLE_HOLD=${BENCH_IDLE_HOLD:-0s}
PORT_BASE=${BENCH_PORT_BASE:-18780}
FAKE_FLAGS=${BENCH_FAKE_FLAGS:--latency 0}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

log() { printf '%s\n' "$*" >&2; }
die() { log "load.sh: $*"; exit 1; }

seconds() { # seconds <N|Ns|Nm>: whole seconds
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo $((${1%s})) ;;
	*) echo $(($1)) ;;
	esac
}
DURATION_S=$(seconds "$DURATION")
WARMUP_S=$(seconds "$WARMUP")
((ROUNDS >= 1)) || die "BENCH_ROUNDS must be >= 1"
SLICE_S=$((DURATION_S / ROUNDS))
((SLICE_S >= 1)) || die "BENCH_DURATION must be at least BENCH_ROUNDS seconds"
read -r -a CONCS <<<"$CONCURRENCIES"
((${#CONCS[@]} >= 1)) || die "BENCH_CONCURRENCIES is empty"
for c in "${CONCS[@]}"; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "bad concurrency in BENCH_CONCURRENCIES: $c"; done
[[ "$STREAMS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_STREAMS must be a positive number"

if [[ -n "${BENCH_RESULTS:-}" ]]; then
	RESULTS=$BENCH_RESULTS
elif [[ "$QUICK" == 1 ]]; then
	RESULTS=""
else
	RESULTS=$BENCH_DIR/results.md
fi

# Every open stream costs Caddy two file descriptors (client and upstream
# connection), the client and the fake one each. Raise the soft limit to
# the hard one; if that still cannot hold BENCH_STREAMS, measure as many as
# fit and say so in the report.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
STREAMS_WANTED=$STREAMS
if [[ "$FD_LIMIT" != unlimited ]] && ((2 * STREAMS + 100 > FD_LIMIT)); then
	STREAMS=$(((FD_LIMIT - 100) / 2))
	log "load.sh: ulimit -n is $FD_LIMIT (hard limit): $STREAMS_WANTED idle streams need $((2 * STREAMS_WANTED + 100)) descriptors in Caddy; measuring $STREAMS"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ai-gateway-bench.XXXXXX")
FAKE_PID=""
CADDY_PID=""

stop_pid() { # stop_pid <pid>: TERM, then KILL if it lingers
	local pid=$1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	stop_pid "$CADDY_PID"
	stop_pid "$FAKE_PID"
	if [[ "${BENCH_KEEP:-}" == 1 || $rc -ne 0 ]]; then
		log "load.sh: logs and files kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools -----------------------------------------------------------------

command -v go >/dev/null || die "go is not installed"
command -v curl >/dev/null || die "curl is not installed"

apt_install() {
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2 ||
		{ "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2; }
}
if ! command -v wrk >/dev/null; then
	log "installing wrk (apt) ..."
	apt_install wrk || die "could not install wrk"
fi

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
code_under_test
log "building ./cmd/caddy ($CODE_REV), ./cmd/fakeprovider and ./bench/ttft (working tree) into $TMP ..."
(cd "$SRC" && go build -o "$TMP/caddy" ./cmd/caddy) ||
	die "build failed (BENCH_REV=HEAD builds the last commit instead of the working tree)"
# The fake and the load client are the bench's tools, not the code under
# test: always the working tree's, so runs of different revisions meet the
# same upstream.
go build -o "$TMP/fakeprovider" ./cmd/fakeprovider || die "building cmd/fakeprovider failed"
go build -o "$TMP/ttft" ./bench/ttft || die "building bench/ttft failed"

# --- ports and settings ----------------------------------------------------

pick_port UP_PORT
pick_port RP_PORT
pick_port GW_PORT
pick_port FULL_PORT
pick_port ADMIN_PORT

export BENCH_UPSTREAM="127.0.0.1:$UP_PORT"
export BENCH_RP_PORT=$RP_PORT
export BENCH_GW_PORT=$GW_PORT
export BENCH_FULL_PORT=$FULL_PORT
export BENCH_ADMIN="127.0.0.1:$ADMIN_PORT"
export BENCH_STORAGE="$TMP/ai-gateway.db"
export BENCH_ADMIN_KEY="${BENCH_ADMIN_KEY:-bench-admin-$(randhex 16)}"
export BENCH_SECRET_KEY="${BENCH_SECRET_KEY:-$(randhex 32)}"
# Caddy's own data/config dirs: inside the temp dir, not in $HOME.
export XDG_DATA_HOME="$TMP/data" XDG_CONFIG_HOME="$TMP/config"


# --- processes -------------------------------------------------------------

# start_fake [flags...]: (re)starts the fake upstream with BENCH_FAKE_FLAGS
# and the given flags. It is restarted for every scenario and concurrency,
# so that each group of interleaved slices meets a fresh upstream (the fake
# keeps a log of its latest 10,000 requests).
start_fake() {
	stop_pid "$FAKE_PID"
	# shellcheck disable=SC2086 # FAKE_FLAGS is a list of flags
	"$TMP/fakeprovider" -listen "$BENCH_UPSTREAM" $FAKE_FLAGS "$@" >>"$TMP/fakeprovider.log" 2>&1 &
	FAKE_PID=$!
	wait_http "http://$BENCH_UPSTREAM/v1/models" || die "fake provider did not start (see $TMP/fakeprovider.log)"
}

start_caddy() {
	stop_pid "$CADDY_PID"
	"$TMP/caddy" run --config "$BENCH_DIR/Caddyfile" --adapter caddyfile >>"$TMP/caddy.log" 2>&1 &
	CADDY_PID=$!
	wait_http "http://$BENCH_ADMIN/config/" || die "caddy did not start: $(cat "$TMP/caddy.log")"
	for p in "$RP_PORT" "$GW_PORT" "$FULL_PORT"; do
		wait_http "http://127.0.0.1:$p/" || die "site :$p did not start: $(cat "$TMP/caddy.log")"
	done
	log "caddy: pid $CADDY_PID, admin http://$BENCH_ADMIN (pprof: /debug/pprof/); reverse_proxy :$RP_PORT, auth + gateway :$GW_PORT, full chain :$FULL_PORT"
}

start_fake
start_caddy

admin() { # admin <method> <path> [json body]: the management API, answer on stdout
	local data=()
	[[ -z "${3:-}" ]] || data=(-d "$3")
	curl -sS --fail-with-body -X "$1" "http://$BENCH_ADMIN$2" \
		-H "Authorization: Bearer $BENCH_ADMIN_KEY" -H 'Content-Type: application/json' "${data[@]}"
}
balance() { admin GET '/ai/credits/balance?accountId=default'; }

# An access key (of the default account) for both gateway sites.
key_json=$(admin POST /ai/access-keys '{"name":"bench"}') || die "creating an access key failed: $key_json"
TOKEN=$(printf '%s' "$key_json" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n "$TOKEN" ]] || die "no token in the access key response: $key_json"
# Fund the default account: far more than the run can spend or hold.
admin POST /ai/credits/purchases '{"accountId":"default","amount":"100000"}' >/dev/null || die "buying credits failed"
# reverse_proxy gets a bearer header too, so all requests are the same size
# (the fake accepts any key unless -require-key is set).
RP_TOKEN="sk-bench-$(randhex 32)"
RP_TOKEN=${RP_TOKEN:0:${#TOKEN}}

# --- scenarios and targets -------------------------------------------------

printf '%s' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}' >"$TMP/json.json"
printf '%s' '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}' >"$TMP/stream.json"

SCENARIOS=(json stream)
declare -A SC_TITLE=([json]="JSON" [stream]="stream")
# What a complete answer contains: the object type, or the final event.
declare -A SC_EXPECT=([json]='"object":"chat.completion"' [stream]='data: [DONE]')
TARGETS=(rp gw full)
declare -A TG_TITLE=([rp]="reverse_proxy" [gw]="auth + gateway" [full]="full chain (+ credits)")
declare -A TG_PORT=([rp]=$RP_PORT [gw]=$GW_PORT [full]=$FULL_PORT)
declare -A TG_TOKEN=([rp]=$RP_TOKEN [gw]=$TOKEN [full]=$TOKEN)
PATH_=/v1/chat/completions

# Preflight: one request per scenario and target, checked by hand; the full
# chain must charge the account (a priced model, credits settled).
before=$(balance) || die "reading the balance failed: $before"
for sc in "${SCENARIOS[@]}"; do
	for tg in "${TARGETS[@]}"; do
		out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:${TG_PORT[$tg]}$PATH_" \
			-H "Authorization: Bearer ${TG_TOKEN[$tg]}" -H 'Content-Type: application/json' \
			--data-binary "@$TMP/$sc.json") || die "preflight $sc/$tg: request failed"
		code=${out##*$'\n'}
		[[ "$code" == 2?? && "$out" == *"${SC_EXPECT[$sc]}"* ]] ||
			die "preflight $sc/$tg: status $code, body: ${out%$'\n'*}"
	done
done
after=$(balance) || die "reading the balance failed: $after"
[[ "$before" != "$after" ]] || die "preflight: the full chain did not charge the account (balance $after)"

# --- 1. throughput and latency (wrk) ---------------------------------------

# wrk_cmd <target> <concurrency> <seconds>: the wrk command line, into WRK.
wrk_cmd() {
	local t=$THREADS
	((t <= $2)) || t=$2
	WRK=(wrk -t"$t" -c"$2" -d"$3s" --timeout 10s -s "$BENCH_DIR/wrk.lua"
		"http://127.0.0.1:${TG_PORT[$1]}$PATH_")
}

# run_wrk <scenario> <target> <concurrency> <seconds> [latency file]:
# prints wrk's BENCH_RESULT line.
run_wrk() {
	local sc=$1 tg=$2 c=$3 dur=$4 hist=${5:-} out WRK
	wrk_cmd "$tg" "$c" "$dur"
	out=$(BENCH_BODY_FILE="$TMP/$sc.json" BENCH_TOKEN="${TG_TOKEN[$tg]}" BENCH_EXPECT="${SC_EXPECT[$sc]}" \
		BENCH_HIST_FILE="$hist" "${WRK[@]}" 2>&1) || die "wrk failed for $sc/$tg/c=$c: $out"
	printf '== %s %s c=%s %ss\n%s\n' "$sc" "$tg" "$c" "$dur" "$out" >>"$TMP/wrk.log"
	grep '^BENCH_FIRST_BAD' <<<"$out" >&2 || true
	grep '^BENCH_RESULT' <<<"$out" || die "no result from wrk for $sc/$tg/c=$c: $out"
}

field() { # field <name> <result line>
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}
errors_of() { # errors_of <result line>: every failed or unchecked answer
	echo $(($(field non2xx "$1") + $(field incomplete "$1") + $(field socket_errors "$1")))
}
# percentile <p> <files...>: latency (us) at p over the pooled quantile
# files. Every line stands for the requests around its value, so it sits at
# the middle of its weight; values in between are interpolated linearly.
percentile() {
	local p=$1
	shift
	sort -n "$@" | awk -v p="$p" '
		{ v[NR] = $1; w[NR] = $2; total += $2 }
		END {
			want = p / 100 * total
			for (i = 1; i <= NR; i++) {
				mid[i] = cum + w[i] / 2
				cum += w[i]
				if (mid[i] >= want) {
					if (i == 1 || mid[i] == mid[i-1]) { printf "%d\n", v[i]; exit }
					printf "%d\n", v[i-1] + (v[i] - v[i-1]) * (want - mid[i-1]) / (mid[i] - mid[i-1])
					exit
				}
			}
			printf "%d\n", v[NR]
		}'
}

# CPU accounting, to tell how much of the machine something else took
# while we measured: all busy time (/proc/stat) minus our own processes
# (Caddy and the fake, read from /proc; wrk, curl, the load client and
# earlier fakes already reaped, from the shell's children times).
cpu_sample() { # cpu_sample <prefix>: sets <prefix>_BUSY _STEAL _TOTAL _OURS (ticks)
	local busy steal total ours ch
	read -r busy steal total < <(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4 + $7 + $8, $9, t }' /proc/stat)
	times >"$TMP/times" # builtin, no subshell: children of this shell
	ch=$(awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t * hz }' "$TMP/times")
	ours=$ch
	for pid in "$CADDY_PID" "$FAKE_PID"; do
		[[ -r /proc/$pid/stat ]] && ours=$((ours + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
	done
	printf -v "$1_BUSY" '%s' "$busy"
	printf -v "$1_STEAL" '%s' "$steal"
	printf -v "$1_TOTAL" '%s' "$total"
	printf -v "$1_OURS" '%s' "$ours"
}

mkdir -p "$TMP/lat"
declare -A REQS DUR_US ERRS NON2XX INCOMPLETE SLICES RPS P50 P99
failed=0
check() { # check <what> <result line>
	local n bad
	n=$(field requests "$2")
	bad=$(errors_of "$2")
	if ((bad > 0 || n == 0)); then
		log "FAILED: $1: $2"
		failed=1
	fi
}

cpu_sample START
for sc in "${SCENARIOS[@]}"; do
	for c in "${CONCS[@]}"; do
		start_fake
		for tg in "${TARGETS[@]}"; do
			log "$sc c=$c / ${TG_TITLE[$tg]}: warm-up ${WARMUP_S}s ..."
			res=$(run_wrk "$sc" "$tg" "$c" "$WARMUP_S")
			check "$sc c=$c / $tg warm-up" "$res"
		done
		for r in $(seq "$ROUNDS"); do
			# Round r starts with target r mod 3: every target is first,
			# middle and last equally often.
			for i in "${!TARGETS[@]}"; do
				tg=${TARGETS[$(((r - 1 + i) % ${#TARGETS[@]}))]}
				log "$sc c=$c / ${TG_TITLE[$tg]}: round $r/$ROUNDS, ${SLICE_S}s ..."
				res=$(run_wrk "$sc" "$tg" "$c" "$SLICE_S" "$TMP/lat/$sc.$c.$tg.$r")
				check "$sc c=$c / $tg round $r" "$res"
				k=$sc/$c/$tg
				REQS[$k]=$((${REQS[$k]:-0} + $(field requests "$res")))
				DUR_US[$k]=$((${DUR_US[$k]:-0} + $(field duration_us "$res")))
				ERRS[$k]=$((${ERRS[$k]:-0} + $(errors_of "$res")))
				NON2XX[$k]=$((${NON2XX[$k]:-0} + $(field non2xx "$res")))
				INCOMPLETE[$k]=$((${INCOMPLETE[$k]:-0} + $(field incomplete "$res")))
				SLICES[$k]="${SLICES[$k]:+${SLICES[$k]} }$(printf '%.0f' "$(field rps "$res")")"
			done
		done
		for tg in "${TARGETS[@]}"; do
			k=$sc/$c/$tg
			RPS[$k]=$(awk -v n="${REQS[$k]}" -v us="${DUR_US[$k]}" 'BEGIN { printf "%.1f", n / (us / 1e6) }')
			P50[$k]=$(percentile 50 "$TMP/lat/$sc.$c.$tg".*)
			P99[$k]=$(percentile 99 "$TMP/lat/$sc.$c.$tg".*)
		done
	done
done

# --- 2. time to first token, paced upstream --------------------------------

start_fake -event-interval "$TTFT_INTERVAL"
ttft_args=(-body "$TMP/stream.json" -c "$TTFT_CONC" -rounds "$ROUNDS" -slice "${SLICE_S}s" -warmup "${WARMUP_S}s")
for tg in "${TARGETS[@]}"; do
	ttft_args+=(-target "$tg,http://127.0.0.1:${TG_PORT[$tg]}$PATH_,${TG_TOKEN[$tg]}")
done
log "stream TTFT: ${TTFT_CONC} streams per target, upstream events ${TTFT_INTERVAL} apart, $ROUNDS rounds of ${SLICE_S}s ..."
ttft_out=$("$TMP/ttft" "${ttft_args[@]}" 2>&1) || { log "$ttft_out"; log "FAILED: stream TTFT"; failed=1; }
printf '== ttft\n%s\n' "$ttft_out" >>"$TMP/ttft.log"
declare -A T_N T_ERR T_DUR T_P50 T_P99 T_STREAM
for tg in "${TARGETS[@]}"; do
	line=$(grep "^TTFT_RESULT target=$tg " <<<"$ttft_out" || true)
	[[ -n "$line" ]] || { log "FAILED: no TTFT result for $tg: $ttft_out"; failed=1; line="TTFT_RESULT target=$tg streams=0 errors=0 duration_us=1 p50_us=0 p99_us=0 stream_p50_us=0"; }
	T_N[$tg]=$(field streams "$line")
	T_ERR[$tg]=$(field errors "$line")
	T_DUR[$tg]=$(field duration_us "$line")
	T_P50[$tg]=$(field p50_us "$line")
	T_P99[$tg]=$(field p99_us "$line")
	T_STREAM[$tg]=$(field stream_p50_us "$line")
done
# Events of one paced stream (the gateway's upstream request also asks for
# the usage chunk).
PACED_EVENTS=$(curl -sS -X POST "http://$BENCH_UPSTREAM$PATH_" -H 'Content-Type: application/json' \
	--data-binary "@$TMP/stream.json" | grep -c '^data: ' || true)

cpu_sample END
read -r OTHERS_PCT STEAL_PCT < <(awk -v b=$((END_BUSY - START_BUSY)) -v o=$((END_OURS - START_OURS)) \
	-v st=$((END_STEAL - START_STEAL)) -v t=$((END_TOTAL - START_TOTAL)) \
	'BEGIN { x = (b - o) / t * 100; if (x < 0) x = 0; printf "%.1f %.1f\n", x, st / t * 100 }')

# --- 3. RSS per open stream ------------------------------------------------

# A fresh Caddy (same config and database), so that memory freed after the
# load above does not absorb the streams; an upstream that sends the role
# and the first content chunk, then stays silent for an hour.
log "idle streams: restarting Caddy; opening $STREAMS streams through the full chain ..."
start_caddy
start_fake -stall-after 2 -stall-for 1h
idle_args=(-idle -body "$TMP/stream.json" -target "full,http://127.0.0.1:$FULL_PORT$PATH_,$TOKEN" -pid "$CADDY_PID")
# warm-up: the first streams of a fresh process allocate what every later
# one shares (pools, caches, the store's pages)
out=$("$TMP/ttft" "${idle_args[@]}" -n 100 -settle 0s 2>&1) || die "idle warm-up failed: $out"
sleep 2
# (its stderr goes to the terminal: with BENCH_IDLE_HOLD it says when the
# streams are open)
idle_out=$("$TMP/ttft" "${idle_args[@]}" -n "$STREAMS" -hold "$IDLE_HOLD") || { log "$idle_out"; log "FAILED: idle streams"; failed=1; }
printf '== idle\n%s\n' "$idle_out" >>"$TMP/ttft.log"
line=$(grep '^IDLE_RESULT' <<<"$idle_out" || echo "IDLE_RESULT opened=0 errors=0 open_s=0 rss_before_kib=0 rss_after_kib=0 kib_per_stream=0 anon_before_kib=0 anon_after_kib=0 anon_kib_per_stream=0 fds_before=0 fds_after=0")
I_OPEN=$(field opened "$line")
I_ERR=$(field errors "$line")
I_OPEN_S=$(field open_s "$line")
I_RSS0=$(field rss_before_kib "$line")
I_RSS1=$(field rss_after_kib "$line")
I_PER=$(field kib_per_stream "$line")
I_ANON0=$(field anon_before_kib "$line")
I_ANON1=$(field anon_after_kib "$line")
I_ANON_PER=$(field anon_kib_per_stream "$line")
I_FD0=$(field fds_before "$line")
I_FD1=$(field fds_after "$line")

# --- report ----------------------------------------------------------------

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f ms", (a - b) / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "–" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
group() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

report() {
	local cpu cores mem sc c tg k errors shown WRK
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	cores=$(nproc)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	wrk_cmd full 16 "$SLICE_S"
	shown="BENCH_BODY_FILE=<body.json> BENCH_TOKEN=<token> BENCH_EXPECT=<marker> BENCH_HIST_FILE=<file> ${WRK[*]}"
	shown=${shown//$ROOT\//}
	shown=${shown//127.0.0.1:$FULL_PORT/127.0.0.1:<port>}
	echo "# bench/load.sh results"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- code: $CODE_REV"
	echo "- machine: $cpu, $cores cores, $mem RAM; $(uname -sr); wrk, the load client, Caddy and the fake upstream share the cores"
	echo "- $(go version); $(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
	echo "- CPU time used by other processes during parts 1 and 2: ${OTHERS_PCT}% of the machine (steal: ${STEAL_PCT}%)"
	echo "- command: \`${BENCH_REV:+BENCH_REV=$BENCH_REV }${QUICK:+BENCH_QUICK=$QUICK }BENCH_CONCURRENCIES='$CONCURRENCIES' BENCH_DURATION=$DURATION BENCH_ROUNDS=$ROUNDS BENCH_WARMUP=$WARMUP BENCH_THREADS=$THREADS BENCH_TTFT_CONCURRENCY=$TTFT_CONC BENCH_TTFT_INTERVAL=$TTFT_INTERVAL BENCH_STREAMS=$STREAMS_WANTED BENCH_FAKE_FLAGS='$FAKE_FLAGS' bench/load.sh\`"
	echo "- targets, one Caddy, one fake upstream (\`cmd/fakeprovider $FAKE_FLAGS\`): **reverse_proxy** (\`flush_interval -1\`); **auth + gateway** (\`ai_auth\` + \`ai_gateway\`); **full chain** (\`ai_auth\` + \`ai_credits\` + \`ai_gateway\`, funded account, priced model \`gpt-4o-mini\`: every request reserves and settles)"
	echo "- JSON / stream rows: wrk, per scenario, concurrency and target a ${WARMUP_S}s warm-up, then ${DURATION_S}s measured as $ROUNDS interleaved ${SLICE_S}s slices; stream = 13 SSE events back to back, latency until \`data: [DONE]\`. Each slice: \`$shown\`"
	echo "- TTFT rows: \`bench/ttft\`, $TTFT_CONC concurrent streams per target, same warm-up and slices; the upstream spaces its $PACED_EVENTS events ${TTFT_INTERVAL} apart, so the first content (the second event) leaves it one interval after the request, the last $((PACED_EVENTS - 1)) intervals after; TTFT = from sending the request to receiving the first chunk with content; req/s is streams/s"
	echo "- RSS row: $I_OPEN idle streams held open through the full chain (upstream: first content, then silence), Caddy restarted before it; VmRSS of the Caddy process before and after"
	echo
	echo "| scenario | c | target | req/s | vs reverse_proxy | p50 | p99 | p50 added | p99 added | errors |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	for sc in "${SCENARIOS[@]}"; do
		for c in "${CONCS[@]}"; do
			for tg in "${TARGETS[@]}"; do
				k=$sc/$c/$tg
				errors=${ERRS[$k]}
				if ((NON2XX[$k] + INCOMPLETE[$k] > 0)); then
					errors="$errors (${NON2XX[$k]} non-2xx, ${INCOMPLETE[$k]} incomplete)"
				fi
				if [[ $tg == rp ]]; then
					printf '| %s | %s | %s | %.0f | 1.00× | %s | %s | | | %s |\n' "${SC_TITLE[$sc]}" "$c" "${TG_TITLE[$tg]}" \
						"${RPS[$k]}" "$(ms "${P50[$k]}")" "$(ms "${P99[$k]}")" "$errors"
				else
					printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "${SC_TITLE[$sc]}" "$c" "${TG_TITLE[$tg]}" \
						"${RPS[$k]}" "$(ratio "${RPS[$k]}" "${RPS[$sc/$c/rp]}")" "$(ms "${P50[$k]}")" "$(ms "${P99[$k]}")" \
						"$(added "${P50[$k]}" "${P50[$sc/$c/rp]}")" "$(added "${P99[$k]}" "${P99[$sc/$c/rp]}")" "$errors"
				fi
			done
		done
	done
	local rps rrps
	rrps=$(awk -v n="${T_N[rp]}" -v us="${T_DUR[rp]}" 'BEGIN { printf "%.1f", n / (us / 1e6) }')
	for tg in "${TARGETS[@]}"; do
		rps=$(awk -v n="${T_N[$tg]}" -v us="${T_DUR[$tg]}" 'BEGIN { printf "%.1f", n / (us / 1e6) }')
		if [[ $tg == rp ]]; then
			printf '| stream TTFT, paced | %s | %s | %.0f | 1.00× | %s | %s | | | %s |\n' "$TTFT_CONC" "${TG_TITLE[$tg]}" \
				"$rps" "$(ms "${T_P50[$tg]}")" "$(ms "${T_P99[$tg]}")" "${T_ERR[$tg]}"
		else
			printf '| stream TTFT, paced | %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$TTFT_CONC" "${TG_TITLE[$tg]}" \
				"$rps" "$(ratio "$rps" "$rrps")" "$(ms "${T_P50[$tg]}")" "$(ms "${T_P99[$tg]}")" \
				"$(added "${T_P50[$tg]}" "${T_P50[rp]}")" "$(added "${T_P99[$tg]}" "${T_P99[rp]}")" "${T_ERR[$tg]}"
		fi
	done
	printf '| idle streams, Caddy RSS | %s open | %s | | | %s KiB per stream | %s total | | | %s |\n' \
		"$(group "$I_OPEN")" "${TG_TITLE[full]}" "$I_PER" "$(mib "$I_RSS1")" "$I_ERR"
	echo
	echo "- idle streams: $(group "$I_OPEN") opened in ${I_OPEN_S}s; Caddy RSS $(mib "$I_RSS0") before, $(mib "$I_RSS1") with them open (+$(awk -v a="$I_RSS1" -v b="$I_RSS0" 'BEGIN { printf "%.0f", (a - b) / 1024 }') MiB, ${I_PER} KiB per stream); of that anonymous memory (RssAnon: heap and stacks, without the mapped database) $(mib "$I_ANON0") → $(mib "$I_ANON1"), ${I_ANON_PER} KiB per stream; Caddy file descriptors $I_FD0 → $I_FD1"
	if ((STREAMS != STREAMS_WANTED)); then
		echo "- **$(group "$STREAMS_WANTED") idle streams were asked for, $(group "$STREAMS") measured**: they need $((2 * STREAMS_WANTED + 100)) file descriptors in Caddy and the hard limit here is \`ulimit -Hn\` = $FD_LIMIT. At ${I_PER} KiB per stream, $(group "$STREAMS_WANTED") would take about $(awk -v b="$I_RSS0" -v p="$I_PER" -v n="$STREAMS_WANTED" 'BEGIN { printf "%.0f", (b + p * n) / 1024 }') MiB."
	fi
	echo "- TTFT: a whole paced stream took (p50) $(ms "${T_STREAM[rp]}") through reverse_proxy, $(ms "${T_STREAM[gw]}") through auth + gateway, $(ms "${T_STREAM[full]}") through the full chain"
	echo
	echo "req/s of each slice, in order (their spread shows how noisy the machine was):"
	echo
	for sc in "${SCENARIOS[@]}"; do
		for c in "${CONCS[@]}"; do
			for tg in "${TARGETS[@]}"; do
				echo "- ${SC_TITLE[$sc]} c=$c / ${TG_TITLE[$tg]}: ${SLICES[$sc/$c/$tg]}"
			done
		done
	done
	if awk -v o="$OTHERS_PCT" -v st="$STEAL_PCT" 'BEGIN { exit !(o + st > 5) }'; then
		echo
		echo "**Warning**: other processes (or the hypervisor) took ${OTHERS_PCT}% (+${STEAL_PCT}% steal) of the CPU during the measurement; these numbers are noisy. Run again on an idle machine."
	fi
}

report >"$TMP/results.md"
echo
cat "$TMP/results.md"
if [[ -n "$RESULTS" ]]; then
	if ((failed == 0)); then
		cp "$TMP/results.md" "$RESULTS"
		log "load.sh: report written to $RESULTS"
	else
		log "load.sh: $RESULTS left unchanged (the run had errors)"
	fi
fi

((failed == 0)) || die "some runs had errors (non-2xx, incomplete answers, socket errors or failed streams); see above"
