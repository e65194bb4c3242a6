#!/usr/bin/env bash
# Load comparison: caddy-ai-gateway (ai_auth + ai_gateway) against plain
# Caddy reverse_proxy, both in one Caddy process in front of the same fake
# upstream (cmd/fakeprovider, zero latency). See bench/README.md.
#
#   bench/load.sh
#
# Environment (all optional):
#   BENCH_CONCURRENCY  open connections                              (default 32)
#   BENCH_DURATION     measured time per scenario and target          (default 10s)
#   BENCH_ROUNDS       slices the measured time is cut into           (default 5)
#   BENCH_WARMUP       unmeasured run per scenario and target first   (default 3s)
#   BENCH_THREADS      wrk threads                                    (default 2)
#   BENCH_PORT_BASE    first port tried for the listeners             (default 18780)
#   BENCH_FAKE_FLAGS   flags for cmd/fakeprovider          (default "-latency 0")
#   BENCH_REV          build this git revision (e.g. HEAD) instead of the
#                      working tree; bench/ itself is always the working tree's
#   BENCH_KEEP=1       keep the temp dir (binaries, logs, db, wrk output)
#   BENCH_CREDITS=1    the gateway runs the full chain: ai_auth + ai_credits +
#                      ai_gateway, on a funded account (every request reserves,
#                      settles durably and journals its usage in one commit)
#
# Each target's measured time is cut into BENCH_ROUNDS slices that alternate
# with the other target's (reverse_proxy, gateway, gateway, reverse_proxy,
# ...), so that a disturbance on a shared machine hits both targets alike.
# req/s is all requests of a target over all its slices; p50/p99 are taken
# over the pooled latencies of its slices.
set -euo pipefail

CONCURRENCY=${BENCH_CONCURRENCY:-32}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-5}
WARMUP=${BENCH_WARMUP:-3s}
THREADS=${BENCH_THREADS:-2}
PORT_BASE=${BENCH_PORT_BASE:-18780}
FAKE_FLAGS=${BENCH_FAKE_FLAGS:--latency 0}

seconds() { # seconds <N|Ns|Nm>: whole seconds
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo $((${1%s})) ;;
	*) echo $(($1)) ;;
	esac
}
DURATION_S=$(seconds "$DURATION")
WARMUP_S=$(seconds "$WARMUP")
((ROUNDS >= 1)) || { echo "load.sh: BENCH_ROUNDS must be >= 1" >&2; exit 1; }
SLICE_S=$((DURATION_S / ROUNDS))
((SLICE_S >= 1)) || { echo "load.sh: BENCH_DURATION must be at least BENCH_ROUNDS seconds" >&2; exit 1; }

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

log() { printf '%s\n' "$*" >&2; }
die() { log "load.sh: $*"; exit 1; }

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

SRC=$ROOT
if [[ -n "${BENCH_REV:-}" ]]; then
	CODE_REV=$(git rev-parse --short "$BENCH_REV^{commit}") || die "no such revision: $BENCH_REV"
	SRC=$TMP/src
	mkdir -p "$SRC"
	git archive --format=tar "$CODE_REV" | tar -x -C "$SRC"
elif CODE_REV=$(git rev-parse --short HEAD 2>/dev/null); then
	[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || CODE_REV="$CODE_REV + uncommitted changes (working tree)"
else
	CODE_REV="working tree"
fi
log "building ./cmd/caddy and ./cmd/fakeprovider ($CODE_REV) into $TMP ..."
(cd "$SRC" && go build -o "$TMP/caddy" ./cmd/caddy && go build -o "$TMP/fakeprovider" ./cmd/fakeprovider) ||
	die "build failed (BENCH_REV=HEAD builds the last commit instead of the working tree)"

# --- ports and settings ----------------------------------------------------

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pick_port <var>: the next free port from PORT_BASE on, into <var> (no
# subshell, so the counter advances).
next_port=$PORT_BASE
pick_port() {
	while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
	printf -v "$1" '%s' "$next_port"
	next_port=$((next_port + 1))
}
pick_port UP_PORT
pick_port GW_PORT
pick_port RP_PORT
pick_port ADMIN_PORT

randhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

export BENCH_UPSTREAM="127.0.0.1:$UP_PORT"
export BENCH_GW_PORT=$GW_PORT
export BENCH_RP_PORT=$RP_PORT
export BENCH_ADMIN="127.0.0.1:$ADMIN_PORT"
export BENCH_STORAGE="$TMP/ai-gateway.db"
export BENCH_ADMIN_KEY="${BENCH_ADMIN_KEY:-bench-admin-$(randhex 16)}"
export BENCH_SECRET_KEY="${BENCH_SECRET_KEY:-$(randhex 32)}"
if [[ "${BENCH_CREDITS:-}" == 1 ]]; then
	export BENCH_CREDITS_HANDLER=ai_credits
else
	export BENCH_CREDITS_HANDLER="vars bench_credits off" # a no-op in its place
fi
# Caddy's own data/config dirs: inside the temp dir, not in $HOME.
export XDG_DATA_HOME="$TMP/data" XDG_CONFIG_HOME="$TMP/config"

# wait_http <url> [curl args...]: until the URL answers at all (any status).
wait_http() {
	local url=$1
	shift
	for _ in $(seq 100); do
		curl -s -o /dev/null --max-time 1 "$@" "$url" && return 0
		sleep 0.1
	done
	return 1
}

# --- processes -------------------------------------------------------------

# The fake provider records every request it receives in memory (headers
# and body) and never forgets them, so it grows by a few KB per request
# (hundreds of MB per minute of load here). It is restarted before every
# round so that both targets meet the same, fresh upstream.
start_fake() {
	stop_pid "$FAKE_PID"
	# shellcheck disable=SC2086 # FAKE_FLAGS is a list of flags
	"$TMP/fakeprovider" -listen "$BENCH_UPSTREAM" $FAKE_FLAGS >>"$TMP/fakeprovider.log" 2>&1 &
	FAKE_PID=$!
	wait_http "http://$BENCH_UPSTREAM/v1/models" || die "fake provider did not start (see $TMP/fakeprovider.log)"
}

start_fake
"$TMP/caddy" run --config "$BENCH_DIR/Caddyfile" --adapter caddyfile >"$TMP/caddy.log" 2>&1 &
CADDY_PID=$!
wait_http "http://$BENCH_ADMIN/config/" || die "caddy did not start: $(cat "$TMP/caddy.log")"
wait_http "http://127.0.0.1:$GW_PORT/" || die "gateway site did not start: $(cat "$TMP/caddy.log")"
wait_http "http://127.0.0.1:$RP_PORT/" || die "reverse_proxy site did not start: $(cat "$TMP/caddy.log")"

# An access key for the gateway, through the management API.
key_json=$(curl -sS --fail-with-body -X POST "http://$BENCH_ADMIN/ai/access-keys" \
	-H "Authorization: Bearer $BENCH_ADMIN_KEY" -H 'Content-Type: application/json' \
	-d '{"name":"bench"}') || die "creating an access key failed: $key_json"
TOKEN=$(printf '%s' "$key_json" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n "$TOKEN" ]] || die "no token in the access key response: $key_json"
if [[ "${BENCH_CREDITS:-}" == 1 ]]; then
	# the default account pays: far more than the run can spend
	curl -sS --fail-with-body -o /dev/null -X POST "http://$BENCH_ADMIN/ai/credits/purchases" \
		-H "Authorization: Bearer $BENCH_ADMIN_KEY" -H 'Content-Type: application/json' \
		-d '{"accountId":"default","amount":"100000"}' || die "buying credits failed"
fi
# reverse_proxy gets a bearer header too, so both requests are the same size
# (the fake accepts any key unless -require-key is set).
RP_TOKEN="sk-bench-$(randhex 32)"
RP_TOKEN=${RP_TOKEN:0:${#TOKEN}}

# --- scenarios -------------------------------------------------------------

printf '%s' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}' >"$TMP/chat.json"
printf '%s' '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence."}]}' >"$TMP/chat-stream.json"

SCENARIOS=(chat chat-stream)
declare -A SC_TITLE=([chat]="chat completion" [chat-stream]="chat completion, stream")
# What a complete answer contains: the object type, or the final event.
declare -A SC_EXPECT=([chat]='"object":"chat.completion"' [chat-stream]='data: [DONE]')
TARGETS=(reverse_proxy gateway)
declare -A TG_PORT=([reverse_proxy]=$RP_PORT [gateway]=$GW_PORT)
declare -A TG_TOKEN=([reverse_proxy]=$RP_TOKEN [gateway]=$TOKEN)
PATH_=/v1/chat/completions

# Preflight: one request per scenario and target, checked by hand.
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

# wrk_cmd <target> <seconds>: the wrk command line, into the array WRK.
wrk_cmd() {
	WRK=(wrk -t"$THREADS" -c"$CONCURRENCY" -d"$2s" --timeout 10s -s "$BENCH_DIR/wrk.lua"
		"http://127.0.0.1:${TG_PORT[$1]}$PATH_")
}

# run_wrk <scenario> <target> <seconds> [latency file]: prints wrk's
# BENCH_RESULT line.
run_wrk() {
	local sc=$1 tg=$2 dur=$3 hist=${4:-} out WRK
	wrk_cmd "$tg" "$dur"
	out=$(BENCH_BODY_FILE="$TMP/$sc.json" BENCH_TOKEN="${TG_TOKEN[$tg]}" BENCH_EXPECT="${SC_EXPECT[$sc]}" \
		BENCH_HIST_FILE="$hist" "${WRK[@]}" 2>&1) || die "wrk failed for $sc/$tg: $out"
	printf '== %s %s %ss\n%s\n' "$sc" "$tg" "$dur" "$out" >>"$TMP/wrk.log"
	grep '^BENCH_FIRST_BAD' <<<"$out" >&2 || true
	grep '^BENCH_RESULT' <<<"$out" || die "no result from wrk for $sc/$tg: $out"
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
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

# CPU accounting, to tell how much of the machine something else took
# while we measured: all busy time (/proc/stat) minus our own processes
# (Caddy, read from /proc; wrk, curl and the fake providers already
# stopped, from the shell's reaped-children times).
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
	start_fake
	for tg in "${TARGETS[@]}"; do
		log "$sc / $tg: warm-up ${WARMUP_S}s ..."
		res=$(run_wrk "$sc" "$tg" "$WARMUP_S")
		check "$sc / $tg warm-up" "$res"
	done
	for r in $(seq "$ROUNDS"); do
		start_fake
		order=("${TARGETS[@]}")
		((r % 2 == 1)) || order=("${TARGETS[1]}" "${TARGETS[0]}")
		for tg in "${order[@]}"; do
			log "$sc / $tg: round $r/$ROUNDS, ${SLICE_S}s at $CONCURRENCY connections ..."
			res=$(run_wrk "$sc" "$tg" "$SLICE_S" "$TMP/lat/$sc.$tg.$r")
			check "$sc / $tg round $r" "$res"
			k=$sc/$tg
			REQS[$k]=$((${REQS[$k]:-0} + $(field requests "$res")))
			DUR_US[$k]=$((${DUR_US[$k]:-0} + $(field duration_us "$res")))
			ERRS[$k]=$((${ERRS[$k]:-0} + $(errors_of "$res")))
			NON2XX[$k]=$((${NON2XX[$k]:-0} + $(field non2xx "$res")))
			INCOMPLETE[$k]=$((${INCOMPLETE[$k]:-0} + $(field incomplete "$res")))
			SLICES[$k]="${SLICES[$k]:+${SLICES[$k]} }$(printf '%.0f' "$(field rps "$res")")"
		done
	done
	for tg in "${TARGETS[@]}"; do
		k=$sc/$tg
		RPS[$k]=$(awk -v n="${REQS[$k]}" -v us="${DUR_US[$k]}" 'BEGIN { printf "%.1f", n / (us / 1e6) }')
		P50[$k]=$(percentile 50 "$TMP/lat/$sc.$tg".*)
		P99[$k]=$(percentile 99 "$TMP/lat/$sc.$tg".*)
	done
done

cpu_sample END
read -r OTHERS_PCT STEAL_PCT < <(awk -v b=$((END_BUSY - START_BUSY)) -v o=$((END_OURS - START_OURS)) \
	-v st=$((END_STEAL - START_STEAL)) -v t=$((END_TOTAL - START_TOTAL)) \
	'BEGIN { x = (b - o) / t * 100; if (x < 0) x = 0; printf "%.1f %.1f\n", x, st / t * 100 }')

# --- report ----------------------------------------------------------------

wrk_cmd gateway "$SLICE_S"
shown="BENCH_BODY_FILE=<body.json> BENCH_TOKEN=<token> BENCH_EXPECT=<marker> BENCH_HIST_FILE=<file> ${WRK[*]}"
shown=${shown//$ROOT\//}
shown=${shown//127.0.0.1:$GW_PORT/127.0.0.1:<port>}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "## caddy-ai-gateway load benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs ($cpu), $(uname -sr); wrk, Caddy and the fake upstream share them"
echo "- CPU time used by other processes during the measurement: ${OTHERS_PCT}% of the machine (steal: ${STEAL_PCT}%)"
echo "- $(go version)"
echo "- code: $CODE_REV"
echo "- $(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
if [[ "${BENCH_CREDITS:-}" == 1 ]]; then
	echo "- gateway chain: ai_auth + ai_credits + ai_gateway (funded account, priced model: every request reserves and settles)"
else
	echo "- gateway chain: ai_auth + ai_gateway (no credits; BENCH_CREDITS=1 adds ai_credits)"
fi
echo "- load: $CONCURRENCY connections, $THREADS wrk threads; per scenario and target a ${WARMUP_S}s warm-up, then ${DURATION_S}s measured as $ROUNDS alternating ${SLICE_S}s slices; fake upstream (cmd/fakeprovider $FAKE_FLAGS) restarted every round"
echo "- command: \`${BENCH_REV:+BENCH_REV=$BENCH_REV }BENCH_CONCURRENCY=$CONCURRENCY BENCH_DURATION=$DURATION BENCH_ROUNDS=$ROUNDS BENCH_WARMUP=$WARMUP BENCH_THREADS=$THREADS BENCH_FAKE_FLAGS='$FAKE_FLAGS' bench/load.sh\`"
echo "- each slice: \`$shown\`"
echo
echo "| scenario | target | req/s | p50 | p99 | errors |"
echo "|---|---|---:|---:|---:|---:|"
for sc in "${SCENARIOS[@]}"; do
	for tg in "${TARGETS[@]}"; do
		k=$sc/$tg
		errors=${ERRS[$k]}
		if ((NON2XX[$k] + INCOMPLETE[$k] > 0)); then
			errors="$errors (${NON2XX[$k]} non-2xx, ${INCOMPLETE[$k]} incomplete)"
		fi
		printf '| %s | %s | %.0f | %s | %s | %s |\n' "${SC_TITLE[$sc]}" "$tg" "${RPS[$k]}" \
			"$(ms "${P50[$k]}")" "$(ms "${P99[$k]}")" "$errors"
	done
done
echo
for sc in "${SCENARIOS[@]}"; do
	awk -v t="${SC_TITLE[$sc]}" -v g="${RPS[$sc/gateway]}" -v r="${RPS[$sc/reverse_proxy]}" \
		-v g50="${P50[$sc/gateway]}" -v r50="${P50[$sc/reverse_proxy]}" \
		-v g99="${P99[$sc/gateway]}" -v r99="${P99[$sc/reverse_proxy]}" \
		'BEGIN { printf "- %s: gateway at %.0f%% of reverse_proxy throughput; p50 %+.2f ms, p99 %+.2f ms\n", t, 100 * g / r, (g50 - r50) / 1000, (g99 - r99) / 1000 }'
done
echo
echo "req/s of each slice, in order (their spread shows how noisy the machine was):"
echo
for sc in "${SCENARIOS[@]}"; do
	for tg in "${TARGETS[@]}"; do
		echo "- ${SC_TITLE[$sc]} / $tg: ${SLICES[$sc/$tg]}"
	done
done

if awk -v o="$OTHERS_PCT" -v st="$STEAL_PCT" 'BEGIN { exit !(o + st > 5) }'; then
	echo
	echo "**Warning**: other processes (or the hypervisor) took ${OTHERS_PCT}% (+${STEAL_PCT}% steal) of the CPU during the measurement; these numbers are noisy. Run again on an idle machine."
fi

((failed == 0)) || die "some runs had errors (non-2xx, incomplete answers or socket errors); see above"
