import { describe, expect, it } from "vitest";
import { slackSignature, slackSignatureProblem } from "./signature.ts";

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
const secret = "8f742231b10e8888abcd99yyyzzz85a5";
const timestamp = "1531420618";
const body =
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const documented = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const at = (seconds: number) => new Date(seconds * 1000);

describe("Slack request signatures", () => {
	it("computes Slack's documented example and accepts it within 5 minutes", () => {
		expect(slackSignature(secret, timestamp, body)).toBe(documented);
		expect(slackSignatureProblem(secret, { timestamp, signature: documented }, body, at(1531420618 + 299))).toBe(
			undefined,
		);
	});

	it.each([
		["a missing signature", { timestamp, signature: undefined }, body, 1531420618, /required/],
		["a timestamp 6 minutes old", { timestamp, signature: documented }, body, 1531420618 + 360, /5 minutes/],
		["a timestamp 6 minutes ahead", { timestamp, signature: documented }, body, 1531420618 - 360, /5 minutes/],
		["a body altered after signing", { timestamp, signature: documented }, `${body}x`, 1531420618, /does not match/],
		["another secret", { timestamp, signature: slackSignature("other", timestamp, body) }, body, 1531420618, /match/],
		["a truncated signature", { timestamp, signature: documented.slice(0, 20) }, body, 1531420618, /match/],
		["a non-numeric timestamp", { timestamp: "soon", signature: documented }, body, 1531420618, /5 minutes/],
	])("refuses %s", (_, headers, payload, now, problem) => {
		expect(slackSignatureProblem(secret, headers, payload, at(now))).toMatch(problem);
	});
});
