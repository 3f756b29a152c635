import { LogLevel, WebClient } from "@slack/web-api";
import { leanFetch } from "../platform/lean-fetch.ts";
import type { SlackOutbound } from "./interactions.ts";

/** Slack as the bot answers interactions: message updates through the Web API, ephemeral replies through response URLs. */
export function createSlackOutbound(options: { token: string; apiUrl: string; timeoutMs: number }): SlackOutbound {
	const client = new WebClient(options.token, {
		slackApiUrl: options.apiUrl,
		timeout: options.timeoutMs,
		retryConfig: { retries: 1 },
		logLevel: LogLevel.ERROR,
		fetch: leanFetch,
	});
	return {
		async update(channel, ts, message) {
			await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks });
		},
		async whisper(responseUrl, text) {
			const response = await leanFetch(responseUrl, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ response_type: "ephemeral", replace_original: false, text }),
				signal: AbortSignal.timeout(options.timeoutMs),
			});
			if (!response.ok) throw new Error(`Slack response URL answered ${response.status}`);
		},
	};
}
