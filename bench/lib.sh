# Shell helpers of bench/load.sh and bench/multinode.sh (sourced, not run).
# The sourcing script sets PORT_BASE (first port tried) and TMP (its temp
# dir) first, and defines die.

# port_free <port>: nothing listens on 127.0.0.1:<port>.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port <var>: the next free port from PORT_BASE on, into <var> (no
# subshell, so the counter advances).
next_port=$PORT_BASE
pick_port() {
	while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
	printf -v "$1" '%s' "$next_port"
	next_port=$((next_port + 1))
}

# wait_http <url> [curl args...]: until the URL answers at all (any
# status), for up to 15 s.
wait_http() {
	local url=$1
	shift
	for _ in $(seq 150); do
		curl -s -o /dev/null --max-time 1 "$@" "$url" && return 0
		sleep 0.1
	done
	return 1
}

# randhex <bytes>: that many random bytes, in hex.
randhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# code_under_test: the source to build Caddy from, into SRC (BENCH_REV's
# tree extracted into $TMP/src, else the working tree at ROOT), and its
# name, into CODE_REV.
code_under_test() {
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
}
