// SPDX-FileCopyrightText: The payhook authors
// SPDX-License-Identifier: BSD-2-Clause
// tests/integration/whsig-verify.sh: check lines of tests/unit/whsig-sign
// (secrets TAB id TAB timestamp TAB webhook-signature TAB body in hex) with
// the official standardwebhooks package, not with our code.
//   node verify.js          each line must verify with every one of its
//                           secrets, and a tampered body, id or timestamp must
//                           be refused; prints counts, and a "#" line per miss
//   node verify.js --sign   print each line again with the package's own
//                           signatures in place of ours
"use strict";
const fs = require("fs");
const { Webhook, WebhookVerificationError } = require("standardwebhooks");

const lines = fs.readFileSync(0, "utf8").split("\n").filter((l) => l !== "");
const signMode = process.argv[2] === "--sign";
const n = { lines: 0, verified: 0, checks: 0, tampered: 0, refused: 0 };

// Does the package refuse these headers and body for a wrong signature?
function refuses(wh, body, headers) {
	try {
		wh.verify(body, headers);
		return false;
	} catch (e) {
		return e instanceof WebhookVerificationError && e.message === "No matching signature found";
	}
}

for (const line of lines) {
	const [secrets, id, ts, sig, hex] = line.split("\t");
	const body = Buffer.from(hex, "hex");
	const keys = secrets.split(" ");
	n.lines++;
	if (signMode) {
		const sigs = keys.map((s) => new Webhook(s).sign(id, new Date(Number(ts) * 1000), body));
		console.log([secrets, id, ts, sigs.join(" "), hex].join("\t"));
		continue;
	}
	const headers = { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig };
	keys.forEach((s, k) => {
		const wh = new Webhook(s);
		n.checks++;
		try {
			wh.verify(body, headers);
			n.verified++;
		} catch (e) {
			console.log(`# line ${n.lines}, secret ${k + 1}: ${e.message}`);
		}
		// One byte of the body flipped, the id and the timestamp changed.
		const tampered = Buffer.from(body);
		tampered[(n.lines * 7919) % tampered.length] ^= 0x01;
		const cases = [
			[tampered, headers],
			[body, { ...headers, "webhook-id": id + "x" }],
			[body, { ...headers, "webhook-timestamp": String(Number(ts) + 1) }],
		];
		for (const [b, h] of cases) {
			n.tampered++;
			if (refuses(wh, b, h))
				n.refused++;
			else
				console.log(`# line ${n.lines}, secret ${k + 1}: a tampered request was not refused`);
		}
	});
}
if (!signMode)
	console.log(`lines ${n.lines} verified ${n.verified}/${n.checks} refused ${n.refused}/${n.tampered}`);
