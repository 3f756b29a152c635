import type { WebClient } from "@slack/web-api";
import { leanFetch, leanFetchWithin } from "../platform/lean-fetch.ts";
import type { SlackMessage } from "./messages.ts";

/**
 * What the Slack domain asks of Slack: the Web API with a workspace's bot token (one client, the
 * token named per call), response URLs, and the OAuth code exchange. Errors carry Slack's error
 * code, never the token.
 */
export interface SlackWeb {
	post(
		token: string,
		channel: string,
		message: SlackMessage,
		threadTs?: string,
	): Promise<{ channel: string; ts: string }>;
	update(token: string, channel: string, ts: string, message: SlackMessage): Promise<void>;
	openView(token: string, triggerId: string, view: object): Promise<void>;
	/** The e-mail address of a Slack user's profile (needs the users:read.email scope), if Slack shows it. */
	userEmail(token: string, userId: string): Promise<string | undefined>;
	/** Answers through an interaction's or command's response URL (ephemeral unless `inChannel`). */
	respond(responseUrl: string, message: SlackMessage, options?: { inChannel?: boolean }): Promise<void>;
	/** Exchanges an OAuth v2 code for the workspace's bot token (`oauth.v2.access`). */
	oauthAccess(input: {
		clientId: string;
		clientSecret: string;
		code: string;
		redirectUri: string;
	}): Promise<OAuthAccess>;
}

export interface OAuthAccess {
	teamId: string;
	teamName: string | null;
	botUserId: string | null;
	botToken: string;
	/** The channel picked for the app's incoming webhook during install, when the app asks for one. */
	channelId: string | null;
}

export type SlackSdk = typeof import("@slack/web-api");
let sdk: Promise<SlackSdk> | undefined;

/**
 * `@slack/web-api`, loaded on first use: the SDK and its dependencies are a few MiB of memory a
 * deployment without Slack should not carry (spec §7.3: 128 MiB).
 */
export function loadSlackSdk(): Promise<SlackSdk> {
	sdk ??= import("@slack/web-api");
	return sdk;
}

/**
 * One `WebClient` for every workspace (each call names its token), made on first use: a deployment
 * without Slack never loads the SDK. It speaks over leanFetch, which also keeps each request's
 * deadline, so the SDK is told to set none (it would make an AbortSignal per call).
 */
export function lazySlackClient(options: {
	apiUrl: string;
	timeoutMs: number;
	retries: number;
	/** Fail a 429 at once instead of waiting out Retry-After inside the SDK. */
	rejectRateLimitedCalls?: boolean;
}): () => Promise<{ client: WebClient; sdk: SlackSdk }> {
	let made: Promise<{ client: WebClient; sdk: SlackSdk }> | undefined;
	return () => {
		made ??= loadSlackSdk().then(
			(sdk) => ({
				sdk,
				client: new sdk.WebClient(undefined, {
					slackApiUrl: options.apiUrl,
					timeout: 0,
					retryConfig: { retries: options.retries },
					rejectRateLimitedCalls: options.rejectRateLimitedCalls ?? false,
					// Failures reach our callers as errors; the SDK's own warnings would only repeat them.
					logLevel: sdk.LogLevel.ERROR,
					// Pages go out in bursts: undici's fetch cost more CPU than everything else a worker did.
					fetch: leanFetchWithin(options.timeoutMs),
				}),
			}),
			(error) => {
				made = undefined;
				throw error;
			},
		);
		return made;
	};
}

export function createSlackWeb(options: { apiUrl: string; timeoutMs: number }): SlackWeb {
	const slackClient = lazySlackClient({ apiUrl: options.apiUrl, timeoutMs: options.timeoutMs, retries: 1 });
	const slack = async () => (await slackClient()).client;
	return {
		async post(token, channel, message, threadTs) {
			const result = await (await slack()).chat.postMessage({
				token,
				channel,
				text: message.text,
				blocks: message.blocks,
				...(threadTs && { thread_ts: threadTs }),
			});
			return { channel: result.channel ?? channel, ts: result.ts ?? "" };
		},
		async update(token, channel, ts, message) {
			await (await slack()).chat.update({ token, channel, ts, text: message.text, blocks: message.blocks });
		},
		async openView(token, triggerId, view) {
			// biome-ignore lint/suspicious/noExplicitAny: the SDK's View union is stricter than the builder's literal type
			await (await slack()).views.open({ token, trigger_id: triggerId, view: view as any });
		},
		async userEmail(token, userId) {
			const result = await (await slack()).users.info({ token, user: userId });
			return result.user?.profile?.email || undefined;
		},
		async respond(responseUrl, message, { inChannel = false } = {}) {
			const response = await leanFetch(responseUrl, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({
					response_type: inChannel ? "in_channel" : "ephemeral",
					replace_original: false,
					text: message.text,
					blocks: message.blocks,
				}),
				timeoutMs: options.timeoutMs,
			});
			if (!response.ok) throw new Error(`Slack response URL answered ${response.status}`);
		},
		async oauthAccess({ clientId, clientSecret, code, redirectUri }) {
			const result = await (await slack()).oauth.v2.access({
				client_id: clientId,
				client_secret: clientSecret,
				code,
				redirect_uri: redirectUri,
			});
			if (!result.team?.id || !result.access_token)
				throw new Error("Slack oauth.v2.access answered without a team or token");
			return {
				teamId: result.team.id,
				teamName: result.team.name ?? null,
				botUserId: result.bot_user_id ?? null,
				botToken: result.access_token,
				channelId: result.incoming_webhook?.channel_id ?? null,
			};
		},
	};
}
