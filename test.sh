#!/usr/bin/env bash
# Runs every check and test of caddy-ai-gateway: formatting, vet, unit and
# integration tests (race detector on), a few seconds of each fuzz target,
# and the official-SDK checks when Node.js is available (set
# AI_GATEWAY_REQUIRE_SDK=1 to make them mandatory), and the dashboard's
# browser test when Chromium is too (AI_GATEWAY_REQUIRE_BROWSER=1).
set -euo pipefail
cd "$(dirname "$0")"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './examples/sdk/node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && [ ! -d examples/sdk/node_modules/openai ]; then
	echo "== npm ci (examples/sdk)"
	(cd examples/sdk && npm ci --no-audit --no-fund --loglevel=error)
fi
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && [ ! -d integration/browser/node_modules/playwright-core ]; then
	echo "== npm ci (integration/browser)"
	(cd integration/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

# A few seconds of each fuzz target (go test runs one -fuzz target per
# invocation). Longer runs: AI_GATEWAY_FUZZTIME=5m ./test.sh
echo "== go test -fuzz"
fuzztime="${AI_GATEWAY_FUZZTIME:-5s}"
for target in \
	./internal/money:FuzzParseUSD \
	./internal/money:FuzzNanoString \
	./internal/usage:FuzzMeter \
	./caddyaiGateway:FuzzReadRequest \
	./caddyaiGateway:FuzzCaddyfile; do
	# Go's fuzzing coordinator sometimes reports "context deadline
	# exceeded" when -fuzztime ends while a worker is busy, with no failing
	# input: that run is repeated once. A real failure writes its input
	# under testdata/fuzz and fails again.
	if ! out=$(go test "${target%%:*}" -run '^$' -fuzz "^${target##*:}\$" -fuzztime "$fuzztime" 2>&1); then
		echo "$out"
		if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "(the fuzzing coordinator timed out without a failing input: once more)"
			go test "${target%%:*}" -run '^$' -fuzz "^${target##*:}\$" -fuzztime "$fuzztime"
		else
			exit 1
		fi
	else
		echo "$out"
	fi
done
