// SPDX-FileCopyrightText: The payhook authors
// SPDX-License-Identifier: BSD-2-Clause
// The merchant's endpoint, for tests/integration/deliver-*.sh: a stand-in
// that verifies every request with the official standardwebhooks package
// (Webhook.verify, not our code), records each delivery, and answers as the
// test directs.
//   node receiver.js PORT SECRET [MODULES]
// MODULES: the node_modules directory holding standardwebhooks
// (tests/standin/whsig, installed by npm ci; see ph_whsig_npm in lib.sh).
// Listens on 127.0.0.1 only. Control:
//   POST /_plan   {"path":"/a","steps":[A,...],"default":A}: the answers to
//                 the next requests to that path, in order, then default
//                 (200 until set). An answer A: {"status":N} with optional
//                 "retry_after" (a header value), "delay_ms", or
//                 {"hang":true} (never answers); a step with "match" answers
//                 only the first request whose body contains that text; {"fail_ratio":R,"seed":S}
//                 as a default answers 500 to a seeded fraction R, else 200.
//   GET /_log     {"deliveries":[{path,id,ts,at,status,verified,body}],
//                 "failures":N} (body parsed; failures: requests that did
//                 not verify).
//   POST /_reset  forget the deliveries and the plans.
"use strict";
const http = require("http");
const path = require("path");

const port = Number(process.argv[2]);
const secret = process.argv[3];
const modules = process.argv[4] || path.join(__dirname, "whsig", "node_modules");
const { Webhook } = require(path.join(modules, "standardwebhooks"));
const wh = new Webhook(secret);

let deliveries = [];
let failures = 0;
let plans = {};
const hung = [];

// A small seeded generator (mulberry32): the same seed, the same answers.
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function answerFor(p, raw) {
	const plan = plans[p] || { steps: [], default: { status: 200 } };
	const k = plan.steps.findIndex((a) => a.match === undefined || raw.includes(a.match));
	if (k >= 0) return plan.steps.splice(k, 1)[0];
	const d = plan.default;
	if (d.fail_ratio !== undefined) {
		if (!plan.rand) plan.rand = rng(d.seed || 1);
		return { status: plan.rand() < d.fail_ratio ? 500 : 200 };
	}
	return d;
}

function json(res, code, obj) {
	const b = JSON.stringify(obj);
	res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(b) });
	res.end(b);
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const raw = Buffer.concat(chunks);
		const url = new URL(req.url, "http://127.0.0.1");
		if (url.pathname === "/_plan" && req.method === "POST") {
			const p = JSON.parse(raw.toString("utf8"));
			plans[p.path] = { steps: p.steps || [], default: p.default || { status: 200 } };
			return json(res, 200, { ok: true });
		}
		if (url.pathname === "/_log" && req.method === "GET")
			return json(res, 200, { deliveries, failures });
		if (url.pathname === "/_reset" && req.method === "POST") {
			deliveries = [];
			failures = 0;
			plans = {};
			return json(res, 200, { ok: true });
		}
		let verified = true;
		try {
			wh.verify(raw, req.headers);
		} catch (e) {
			verified = false;
			failures++;
			console.error(`verify failed: ${e.message} id=${req.headers["webhook-id"]}`);
		}
		let body = null;
		try {
			body = JSON.parse(raw.toString("utf8"));
		} catch (e) {
			body = raw.toString("utf8");
		}
		const a = answerFor(url.pathname, raw.toString("utf8"));
		deliveries.push({
			path: url.pathname,
			id: req.headers["webhook-id"] || "",
			ts: req.headers["webhook-timestamp"] || "",
			at: Date.now(),
			status: a.hang ? "hang" : a.status,
			verified,
			body,
		});
		if (a.hang) {
			hung.push(res);
			return;
		}
		const send = () => {
			const h = { "content-type": "text/plain" };
			if (a.retry_after !== undefined) h["retry-after"] = String(a.retry_after);
			res.writeHead(a.status, h);
			res.end("answer body, never logged\n");
		};
		if (a.delay_ms) setTimeout(send, a.delay_ms);
		else send();
	});
});
server.keepAliveTimeout = 30000;
server.listen(port, "127.0.0.1", () => console.error(`receiver listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
