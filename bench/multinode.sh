#!/usr/bin/env bash
# Many-nodes benchmark: the full chain (ai_auth + ai_credits + ai_gateway) on
# PostgreSQL, one node alone and then three nodes on the same database, all
# spending one account, in front of the same fake upstream. See bench/README.md.
#
#   bench/multinode.sh                  # the working tree
#   BENCH_REV=HEAD bench/multinode.sh   # the last commit
#
# It measures, in one run:
#   1. JSON chat completions per second (wrk, BENCH_CONCURRENCY connections
#      per node) through 1 node, then through 3 nodes at once;
#   2. that the money is exact afterwards: every node reports the same
#      balance, nothing is held or leased once the load stopped, and the
#      ledger's spend equals the usage events' cost;
# and prints a markdown table (also written to BENCH_RESULTS if set).
#
# PostgreSQL: AI_GATEWAY_TEST_DATABASE_URL when set (its database must be
# empty or a gateway's), else a throwaway cluster in a temp dir with the
# server's default durability (fsync and synchronous_commit on), started as
# the postgres user when run as root. Debian: apt-get install postgresql wrk.
#
# Environment (all optional):
#   BENCH_CONCURRENCY   wrk connections per node                (default 16)
#   BENCH_DURATION      measured seconds per phase              (default 10)
#   BENCH_WARMUP        unmeasured seconds before each phase    (default 3)
#   BENCH_PORT_BASE     first port tried for the listeners      (default 19780)
#   BENCH_REV           build Caddy from this git revision
#   BENCH_RESULTS       also write the markdown report here
#   BENCH_KEEP=1        keep the temp dir (binaries, logs, database)
set -euo pipefail

CONC=${BENCH_CONCURRENCY:-16}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
PORT_BASE=${BENCH_PORT_BASE:-19780}
NODES=3

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

log() { printf '%s\n' "$*" >&2; }
die() { log "multinode.sh: $*"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ai-gateway-multinode.XXXXXX")
chmod 755 "$TMP"
PIDS=()
PG_DATA=""
PG_BIN=""

as_postgres() { # as_postgres <cmd...>: as the postgres user when root
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
	local rc=$?
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -n "$PG_DATA" ]]; then
		as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [[ "${BENCH_KEEP:-}" == 1 || $rc -ne 0 ]]; then
		log "multinode.sh: logs and files kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v go >/dev/null || die "go is not installed"
command -v curl >/dev/null || die "curl is not installed"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
code_under_test
log "building ./cmd/caddy ($CODE_REV) and ./cmd/fakeprovider into $TMP ..."
(cd "$SRC" && go build -o "$TMP/caddy" ./cmd/caddy) || die "building caddy failed"
go build -o "$TMP/fakeprovider" ./cmd/fakeprovider || die "building cmd/fakeprovider failed"

# --- PostgreSQL -------------------------------------------------------------

if [[ -n "${AI_GATEWAY_TEST_DATABASE_URL:-}" ]]; then
	DB_URL=$AI_GATEWAY_TEST_DATABASE_URL
	PG_NOTE="AI_GATEWAY_TEST_DATABASE_URL"
else
	initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
	[[ -n "$initdb" ]] || initdb=$(command -v initdb) || die "no PostgreSQL (apt-get install postgresql) and AI_GATEWAY_TEST_DATABASE_URL is not set"
	PG_BIN=$(dirname "$initdb")
	mkdir -p "$TMP/pg"
	[[ $(id -u) -ne 0 ]] || chown postgres "$TMP/pg"
	as_postgres "$PG_BIN/initdb" -D "$TMP/pg/data" -U postgres -A trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 ||
		die "initdb failed: $(cat "$TMP/initdb.log")"
	PG_DATA=$TMP/pg/data
	pick_port PG_PORT
	as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$TMP/pg/server.log" -w -t 60 \
		-o "-p $PG_PORT -k $TMP/pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null ||
		die "PostgreSQL did not start: $(cat "$TMP/pg/server.log")"
	DB_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	PG_NOTE="throwaway $("$PG_BIN/postgres" --version | sed 's/.*) //'), fsync and synchronous_commit on"
fi

# --- the fake upstream and the nodes ------------------------------------------

pick_port UP_PORT
"$TMP/fakeprovider" -listen "127.0.0.1:$UP_PORT" -latency 0 >"$TMP/fakeprovider.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$UP_PORT/v1/models" || die "fake provider did not start"

ADMIN_KEY="bench-admin-$(randhex 16)"
SECRET_KEY=$(randhex 32)
declare -a SITE ADMIN
for i in $(seq "$NODES"); do
	pick_port "SITE[$i]"
	pick_port "ADMIN[$i]"
	cat >"$TMP/Caddyfile.$i" <<EOF
{
	admin 127.0.0.1:${ADMIN[$i]}
	persist_config off
	auto_https off
	log default {
		output discard
	}
	ai {
		storage postgres {env.BENCH_DB_URL}
		secret_key $SECRET_KEY
		admin_key $ADMIN_KEY
		provider openai {
			base_url http://127.0.0.1:$UP_PORT/v1
			api_key sk-bench-dummy-key
		}
	}
}

http://:${SITE[$i]} {
	bind 127.0.0.1
	ai_auth
	ai_credits
	ai_gateway
}
EOF
done

start_node() { # start_node <i>
	XDG_DATA_HOME="$TMP/data$1" XDG_CONFIG_HOME="$TMP/config$1" BENCH_DB_URL="$DB_URL" \
		"$TMP/caddy" run --config "$TMP/Caddyfile.$1" --adapter caddyfile >"$TMP/caddy$1.log" 2>&1 &
	PIDS+=($!)
	wait_http "http://127.0.0.1:${ADMIN[$1]}/config/" || die "node $1 did not start: $(cat "$TMP/caddy$1.log")"
	wait_http "http://127.0.0.1:${SITE[$1]}/" || die "node $1's site did not start"
}

admin() { # admin <node> <method> <path> [json]
	local data=()
	[[ -z "${4:-}" ]] || data=(-d "$4")
	curl -sS --fail-with-body -X "$2" "http://127.0.0.1:${ADMIN[$1]}$3" \
		-H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' "${data[@]}"
}
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2" | head -1; }

start_node 1
key_json=$(admin 1 POST /ai/access-keys '{"name":"bench"}') || die "creating an access key failed: $key_json"
TOKEN=$(json_field token "$key_json")
[[ -n "$TOKEN" ]] || die "no token in $key_json"
admin 1 POST /ai/credits/purchases '{"accountId":"default","amount":"100000"}' >/dev/null || die "buying credits failed"
printf '%s' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}' >"$TMP/json.json"

# run_wrk <seconds> <nodes...>: one wrk per node at once; prints the total
# requests per second and fails on any non-2xx or incomplete answer.
run_wrk() {
	local secs=$1 total=0 i out res
	shift
	for i in "$@"; do
		BENCH_BODY_FILE="$TMP/json.json" BENCH_TOKEN="$TOKEN" BENCH_EXPECT='"object":"chat.completion"' BENCH_HIST_FILE="" \
			wrk -t2 -c"$CONC" -d"${secs}s" --timeout 10s -s "$BENCH_DIR/wrk.lua" \
			"http://127.0.0.1:${SITE[$i]}/v1/chat/completions" >"$TMP/wrk.$i.out" 2>&1 &
	done
	wait_jobs
	for i in "$@"; do
		out=$(cat "$TMP/wrk.$i.out")
		res=$(grep '^BENCH_RESULT' <<<"$out") || die "no result from wrk on node $i: $out"
		bad=$(($(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$res") + $(sed -n 's/.* incomplete=\([0-9]*\).*/\1/p' <<<"$res")))
		((bad == 0)) || die "node $i: $bad failed answers: $(grep BENCH_FIRST_BAD <<<"$out")"
		total=$(awk -v a="$total" -v b="$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$res")" 'BEGIN{printf "%.0f", a+b}')
		sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$res" >>"$TMP/completed"
	done
	echo "$total"
}
# wait_jobs: wait for the background wrk runs (not the nodes).
wait_jobs() {
	local p
	for p in $(jobs -p); do
		[[ " ${PIDS[*]} " == *" $p "* ]] || wait "$p"
	done
}

log "1 node: warm-up ${WARMUP}s, measure ${DURATION}s at c=$CONC ..."
run_wrk "$WARMUP" 1 >/dev/null
ONE=$(run_wrk "$DURATION" 1)
log "1 node: $ONE req/s"

for i in $(seq 2 "$NODES"); do start_node "$i"; done
log "$NODES nodes: warm-up ${WARMUP}s, measure ${DURATION}s at c=$CONC per node ..."
run_wrk "$WARMUP" $(seq "$NODES") >/dev/null
MANY=$(run_wrk "$DURATION" $(seq "$NODES"))
log "$NODES nodes: $MANY req/s in total"

# --- the money afterwards ------------------------------------------------------

# Leases go back after 2 s idle: wait until nothing is held or leased,
# then check the books in the database itself.
command -v psql >/dev/null || die "psql is not installed"
sql() { psql -X -A -t -q "$DB_URL" -c "$1"; }
settled=""
for _ in $(seq 60); do
	if [[ "$(sql "SELECT leased FROM credit_accounts WHERE account_id = 'default'")" == 0 ]] &&
		[[ "$(json_field held "$(admin 1 GET '/ai/credits/balance?accountId=default')")" =~ ^0(\.0*)?$ ]]; then
		settled=1
		break
	fi
	sleep 0.5
done
[[ -n "$settled" ]] || die "credits still held or leased after the load"
declare -a BAL
for i in $(seq "$NODES"); do BAL[$i]=$(json_field available "$(admin "$i" GET '/ai/credits/balance?accountId=default')"); done
same=yes
for i in $(seq 2 "$NODES"); do [[ "${BAL[$i]}" == "${BAL[1]}" ]] || same="no: ${BAL[*]}"; done
balance=$(sql "SELECT balance FROM credit_accounts WHERE account_id = 'default'")
lots=$(sql "SELECT sum(remaining) FROM credit_lots WHERE account_id = 'default'")
ledger=$(sql "SELECT (sum((doc->>'amount')::numeric) * 1000000000)::bigint FROM credit_entries WHERE account_id = 'default'")
charged=$(sql "SELECT -(sum((doc->>'amount')::numeric) * 1000000000)::bigint FROM credit_entries WHERE account_id = 'default' AND doc->>'type' IN ('usage', 'fee')")
metered=$(sql "SELECT sum(cost + fee) FROM usage_events WHERE account_id = 'default'")
requests=$(sql "SELECT count(DISTINCT request_id) FROM usage_events WHERE account_id = 'default' AND status = 200")
# wrk counts the answers it read whole; requests still in flight when a
# phase ends are served and charged too (at most one per connection).
completed=$(awk '{n += $1} END {print n + 0}' "$TMP/completed")
inflight_max=$((CONC * 2 * (1 + NODES))) # two phases on 1 node, two on NODES
books=yes
((requests >= completed && requests - completed <= inflight_max)) ||
	books="no: $requests requests metered, $completed answers completed (at most $inflight_max in flight)"
[[ "$balance" == "$lots" && "$balance" == "$ledger" ]] || books="no: balance $balance, lots $lots, ledger $ledger"
[[ "$charged" == "$metered" ]] || books="no: charged $charged, usage events $metered"

report=$(
	cat <<EOF
## Many nodes: full chain on PostgreSQL

Code: $CODE_REV; PostgreSQL: $PG_NOTE; $(nproc) cores shared by every process (nodes, PostgreSQL, fake upstream, wrk).
JSON chat completions through ai_auth + ai_credits + ai_gateway, one funded account, wrk -c$CONC per node for ${DURATION}s.

| setup | req/s (total) |
|---|---:|
| 1 node | $ONE |
| $NODES nodes on one database, at once | $MANY |

Afterwards (every phase, warm-ups included): $requests requests metered for $completed answers wrk read whole (the rest were in flight when a phase ended); the available balance is the same on every node: $same (${BAL[1]} USD); nothing held or leased; balance = open lots = ledger sum, and the ledger's usage and fee entries = the usage events' cost and fee: $books.
EOF
)
printf '%s\n' "$report"
[[ -z "${BENCH_RESULTS:-}" ]] || printf '%s\n' "$report" >"$BENCH_RESULTS"
[[ "$same" == yes && "$books" == yes ]] || exit 1
