-- SPDX-FileCopyrightText: The payhook authors
-- SPDX-License-Identifier: BSD-2-Clause
-- wrk script for bench/ingest: POST a ~120-byte OneInfinite notification with
-- a unique notification id and entity id per request (PH_BENCH_TAG names the
-- leg, so ids never repeat across legs), and print one machine-readable line.
local counter = 0
local nthreads = 0

function setup(thread)
	nthreads = nthreads + 1
	thread:set("tid", nthreads)
end

function init(args)
	tag = os.getenv("PH_BENCH_TAG") or "x"
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	counter = counter + 1
	local id = string.format("%s-%d-%08d", tag, tid, counter)
	local body = '{"id":"n' .. id .. '","event_type":"PAYMENT_ORDER.CLOSED",' ..
	    '"entity_type":"PAYMENT_ORDER","entity_id":"po' .. id .. '"}'
	return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d sockerr=%d " ..
	    "p50_us=%d p99_us=%d\n", summary.requests, summary.duration, e.status,
	    e.connect + e.read + e.write + e.timeout,
	    latency:percentile(50), latency:percentile(99)))
end
