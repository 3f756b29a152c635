/**
 * Requests as Slack sends them to an app: form-encoded or JSON bodies, signed with
 * `X-Slack-Signature` (v0 HMAC over `v0:<timestamp>:<body>`) at a given time.
 */
import { randomUUID } from "node:crypto";
import { slackSignature } from "../../src/slack/index.ts";
import type { TestApp } from "./app.ts";

export interface SlackPostOptions {
	contentType?: string;
	/** The signing secret to sign with. */
	secret: string;
	/** Seconds since the epoch; default the given clock's now. */
	timestamp?: number;
	/** A signature to send as is, or null to send none. */
	signature?: string | null;
	headers?: Record<string, string>;
}

export function createSlackSender(app: () => TestApp, now: () => Date) {
	async function post(path: string, body: string, options: SlackPostOptions) {
		const timestamp = String(options.timestamp ?? Math.floor(now().getTime() / 1000));
		const headers: Record<string, string> = {
			"content-type": options.contentType ?? "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": timestamp,
			...options.headers,
		};
		if (options.signature !== null) {
			headers["x-slack-signature"] = options.signature ?? slackSignature(options.secret, timestamp, body);
		}
		return app().request("POST", path, { body, headers });
	}
	return {
		post,
		/** An interactivity payload (`payload=<json>`), as block_actions and view_submission arrive. */
		interaction: (payload: Record<string, unknown>) => `payload=${encodeURIComponent(JSON.stringify(payload))}`,
		/** A slash command's form body. */
		command: (fields: { team: string; user: string; text: string; responseUrl?: string; triggerId?: string }) =>
			new URLSearchParams({
				token: "deprecated-verification-token",
				team_id: fields.team,
				team_domain: "acme",
				channel_id: "C0OPS",
				channel_name: "ops",
				user_id: fields.user,
				user_name: fields.user.toLowerCase(),
				command: "/opswatch",
				text: fields.text,
				api_app_id: "A0OPSWATCH",
				is_enterprise_install: "false",
				...(fields.responseUrl && { response_url: fields.responseUrl }),
				trigger_id: fields.triggerId ?? `${randomUUID()}.trigger`,
			}).toString(),
	};
}
