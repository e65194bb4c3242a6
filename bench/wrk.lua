-- wrk script for bench/load.sh: POSTs the body in $BENCH_BODY_FILE with a
-- bearer $BENCH_TOKEN, checks every response (status 2xx and a complete
-- answer: $BENCH_EXPECT must occur in the body; for streams that is the
-- final "[DONE]" event) and prints one machine-readable result line.
-- With $BENCH_HIST_FILE set it also writes the run's latency distribution
-- there ("<microseconds> <weight>" per line), so that load.sh can pool
-- several runs and compute percentiles over all of their requests.

local body_file = assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE not set")
local f = assert(io.open(body_file, "rb"))
local req_body = f:read("*a")
f:close()
local token = assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN not set")
local expect = assert(os.getenv("BENCH_EXPECT"), "BENCH_EXPECT not set")

wrk.method = "POST"
wrk.body = req_body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	-- globals, so done() can read them with thread:get()
	responses = 0
	non2xx = 0
	incomplete = 0
	first_bad = ""
	-- the request never changes: build it once
	req = wrk.format()
end

function request()
	return req
end

function response(status, headers, body)
	responses = responses + 1
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
		if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
	elseif not string.find(body or "", expect, 1, true) then
		incomplete = incomplete + 1
		if first_bad == "" then first_bad = status .. " incomplete: " .. string.sub(body or "", -200) end
	end
end

function done(summary, latency, requests)
	local n, bad, inc, first = 0, 0, 0, ""
	for _, t in ipairs(threads) do
		n = n + t:get("responses")
		bad = bad + t:get("non2xx")
		inc = inc + t:get("incomplete")
		if first == "" then first = t:get("first_bad") end
	end
	local e = summary.errors
	local sockerr = e.connect + e.read + e.write + e.timeout
	io.write(string.format(
		"BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d checked=%d non2xx=%d incomplete=%d socket_errors=%d\n",
		summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), latency.max,
		n, bad, inc, sockerr))
	local hist = os.getenv("BENCH_HIST_FILE")
	if hist and hist ~= "" then
		-- wrk's Lua API has no cheap way to walk its histogram, so write
		-- quantiles at the middle of narrow bands instead: 0.1% bands up to
		-- the 98th percentile, 0.01% bands above it. Each line stands for
		-- its band's share of this run's requests.
		local h = assert(io.open(hist, "w"))
		local n = summary.requests
		for k = 1, 980 do
			h:write(string.format("%d %.6f\n", latency:percentile((k - 0.5) / 10), n / 1000))
		end
		for k = 1, 200 do
			h:write(string.format("%d %.6f\n", latency:percentile(98 + (k - 0.5) / 100), n / 10000))
		end
		h:close()
	end
	if first ~= "" then
		io.write("BENCH_FIRST_BAD " .. string.gsub(first, "\n", "\\n") .. "\n")
	end
end
