import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack refuses to count a request older than this; so do we (a captured request cannot be replayed later). */
export const MAX_SIGNATURE_AGE_S = 5 * 60;

/**
 * Verifies `X-Slack-Signature` as Slack's docs describe it: `v0=` + HMAC-SHA256 with the signing
 * secret over `v0:{X-Slack-Request-Timestamp}:{raw body}`, compared in constant time, and the
 * timestamp within 5 minutes of now. Returns why it fails, or undefined when it holds.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
export function slackSignatureProblem(
	signingSecret: string,
	headers: { timestamp: string | undefined; signature: string | undefined },
	rawBody: string,
	now: Date,
): string | undefined {
	const { timestamp, signature } = headers;
	if (!timestamp || !signature) return "X-Slack-Signature and X-Slack-Request-Timestamp are required";
	const seconds = Number(timestamp);
	if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now.getTime() / 1000 - seconds) > MAX_SIGNATURE_AGE_S) {
		return "X-Slack-Request-Timestamp is more than 5 minutes from now";
	}
	const expected = Buffer.from(
		`v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`,
	);
	const given = Buffer.from(signature);
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
		return "X-Slack-Signature does not match this request";
	}
	return undefined;
}

/** Signs a request as Slack does (for tests and local tools). */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
	return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
}
