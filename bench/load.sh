#!/usr/bin/env bash
# Load comparison: caddy-ai-gateway (ai_auth + ai_gateway) against plain
# Caddy reverse_proxy, both in one Caddy process in front of the same fake
# upstream (cmd/fakeprovider, zero latency). See bench/README.md.
#
#   bench/load.sh
#
# Environment (all optional):
#   BENCH_CONCURRENCY  open connections                      (default 32)
#   BENCH_DURATION     length of each measured run (wrk -d)  (default 10s)
#   BENCH_WARMUP       unmeasured run before each one        (default 3s)
#   BENCH_THREADS      wrk threads                           (default 2)
#   BENCH_PORT_BASE    first port tried for the listeners    (default 18780)
#   BENCH_KEEP=1       keep the temp dir (binaries, logs, db) for inspection
set -euo pipefail

CONCURRENCY=${BENCH_CONCURRENCY:-32}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
THREADS=${BENCH_THREADS:-2}
PORT_BASE=${BENCH_PORT_BASE:-18780}

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

log "building ./cmd/caddy and ./cmd/fakeprovider into $TMP ..."
go build -o "$TMP/caddy" ./cmd/caddy
go build -o "$TMP/fakeprovider" ./cmd/fakeprovider

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
# and body) and never forgets them, so it grows by ~2-6 KB per request
# (hundreds of MB per run here). It is restarted before every run so each
# target meets an identical, fresh upstream.
start_fake() {
	stop_pid "$FAKE_PID"
	"$TMP/fakeprovider" -listen "$BENCH_UPSTREAM" -latency 0 >>"$TMP/fakeprovider.log" 2>&1 &
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

# wrk_cmd <target> <duration>: the wrk command line, into the array WRK.
wrk_cmd() {
	WRK=(wrk -t"$THREADS" -c"$CONCURRENCY" -d"$2" --timeout 10s -s "$BENCH_DIR/wrk.lua"
		"http://127.0.0.1:${TG_PORT[$1]}$PATH_")
}

# run_wrk <scenario> <target> <duration>: prints wrk's BENCH_RESULT line.
run_wrk() {
	local sc=$1 tg=$2 dur=$3 out WRK
	wrk_cmd "$tg" "$dur"
	out=$(BENCH_BODY_FILE="$TMP/$sc.json" BENCH_TOKEN="${TG_TOKEN[$tg]}" BENCH_EXPECT="${SC_EXPECT[$sc]}" \
		"${WRK[@]}" 2>&1) || die "wrk failed for $sc/$tg: $out"
	printf '%s\n' "$out" >>"$TMP/wrk.log"
	grep '^BENCH_FIRST_BAD' <<<"$out" >&2 || true
	grep '^BENCH_RESULT' <<<"$out" || die "no result from wrk for $sc/$tg: $out"
}

field() { # field <name> <result line>
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

ROWS=()
declare -A RPS P50 P99
failed=0
for sc in "${SCENARIOS[@]}"; do
	for tg in "${TARGETS[@]}"; do
		start_fake
		log "$sc / $tg: warm-up $WARMUP, then $DURATION at $CONCURRENCY connections ..."
		warm=$(run_wrk "$sc" "$tg" "$WARMUP")
		res=$(run_wrk "$sc" "$tg" "$DURATION")
		n=$(field requests "$res")
		bad=$(( $(field non2xx "$res") + $(field incomplete "$res") + $(field socket_errors "$res") ))
		wbad=$(( $(field non2xx "$warm") + $(field incomplete "$warm") + $(field socket_errors "$warm") ))
		errors="$bad"
		if [[ $(field non2xx "$res") -ne 0 || $(field incomplete "$res") -ne 0 ]]; then
			errors="$bad ($(field non2xx "$res") non-2xx, $(field incomplete "$res") incomplete)"
		fi
		if ((bad > 0 || wbad > 0 || n == 0)); then
			log "FAILED: $sc / $tg: $res (warm-up: $warm)"
			failed=1
		fi
		RPS[$sc/$tg]=$(field rps "$res")
		P50[$sc/$tg]=$(field p50_us "$res")
		P99[$sc/$tg]=$(field p99_us "$res")
		ROWS+=("| ${SC_TITLE[$sc]} | $tg | $(printf '%.0f' "${RPS[$sc/$tg]}") | $(ms "${P50[$sc/$tg]}") | $(ms "${P99[$sc/$tg]}") | $errors |")
	done
done

# --- report ----------------------------------------------------------------

wrk_cmd gateway "$DURATION"
shown="BENCH_BODY_FILE=<body.json> BENCH_TOKEN=<token> BENCH_EXPECT=<marker> ${WRK[*]}"
shown=${shown//$ROOT\//}
shown=${shown//127.0.0.1:$GW_PORT/127.0.0.1:<port>}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "## caddy-ai-gateway load benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs ($cpu), $(uname -sr); wrk, Caddy and the fake upstream share them"
echo "- $(go version)"
echo "- $(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
echo "- load: $CONCURRENCY connections, $THREADS wrk threads, $DURATION per run after a $WARMUP warm-up; fake upstream with -latency 0, restarted before each run"
echo "- command: bench/load.sh (BENCH_CONCURRENCY=$CONCURRENCY BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_THREADS=$THREADS)"
echo "- each run: \`$shown\`"
echo
echo "| scenario | target | req/s | p50 | p99 | errors |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
for sc in "${SCENARIOS[@]}"; do
	awk -v t="${SC_TITLE[$sc]}" -v g="${RPS[$sc/gateway]}" -v r="${RPS[$sc/reverse_proxy]}" \
		-v g50="${P50[$sc/gateway]}" -v r50="${P50[$sc/reverse_proxy]}" \
		'BEGIN { printf "- %s: gateway at %.0f%% of reverse_proxy throughput, p50 %+.2f ms\n", t, 100 * g / r, (g50 - r50) / 1000 }'
done

((failed == 0)) || die "some runs had errors (non-2xx, incomplete answers or socket errors); see above"
