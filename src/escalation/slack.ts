/**
 * Slack delivery channels: a page as a DM to a person, or as a post in a team channel, sent with
 * `@slack/web-api`. Each message carries the notification's idempotency key as message metadata,
 * so after a crash `findDelivered` can tell from the channel's history whether it went out.
 *
 * Example of what a send posts (`chat.postMessage`):
 *
 *     { "channel": "D0ANN", "text": "[CRITICAL] Disk full on db-1", "blocks": [ …header, labels, buttons… ],
 *       "metadata": { "event_type": "opswatch_notification", "event_payload": { "key": "esc_1:0:1:ann:slack_dm" } } }
 */

import type { WebClient } from "@slack/web-api";
import { lruCache } from "../platform/lru.ts";
import {
	alertMessage,
	type FollowUp,
	lazySlackClient,
	type SlackMessage,
	type SlackSdk,
	threadFollowUp,
} from "../slack/index.ts";

type SlackMessageState = FollowUp;
/** The tenant a page or notice is sent for: its Slack workspace speaks. */
type SlackTenant = { id: string; slug: string; schema: string };

import { type Channel, ChannelError, type Delivery, type OutgoingNotification } from "./channels.ts";

/** Configuration for {@link createSlackChannels}. */
export interface SlackChannelsOptions {
	/**
	 * The bot token that speaks for a tenant (its Slack installation's, else the deployment's);
	 * undefined when the tenant has no Slack. Never put in an error message or log.
	 */
	tokenFor(tenant: SlackTenant): Promise<string | undefined>;
	/** Web API base, `https://slack.com/api/` in production; tests pass a local fake's URL. */
	apiUrl: string;
	/** Per-request timeout. Default 10 s: a page should not wait on a stuck connection. */
	timeoutMs?: number;
}

/** The metadata event type OpsWatch tags its pages with. */
export const NOTIFICATION_EVENT_TYPE = "opswatch_notification";

/** How far before the claim `findDelivered` looks, for clock skew between us and Slack. */
const HISTORY_SLACK_MS = 60_000;
/** Pages of history `findDelivered` reads at most: a channel in an alert storm can pass 100 messages. */
const HISTORY_MAX_PAGES = 5;

// Slack error codes for which a later try may succeed; any other code (channel_not_found,
// not_in_channel, invalid_auth, account_inactive, …) needs a person to fix configuration first.
const retryableSlackErrors = new Set([
	"ratelimited",
	"rate_limited",
	"internal_error",
	"fatal_error",
	"service_unavailable",
	"request_timeout",
]);

/**
 * Creates the two Slack channels on one `WebClient`: `dm` sends to a user id (opening the DM
 * first), `channel` posts to a channel id. The client neither retries nor waits out rate limits:
 * the outbox owns retries and backoff, and a worker must not sit in a 30-minute SDK retry loop.
 */
export function createSlackChannels(options: SlackChannelsOptions): {
	dm: Channel;
	channel: Channel;
	/** A plain DM that is not a page (a handoff notice): sent once, not through the outbox. */
	say(tenant: SlackTenant, userId: string, text: string): Promise<void>;
	/**
	 * Redraws a sent page (`channel:ts`) once someone acted on its alert, and says so in its thread
	 * (an edit notifies nobody; a reply does).
	 */
	update(
		providerRef: string,
		n: Pick<OutgoingNotification, "alert" | "tenant">,
		state: SlackMessageState,
	): Promise<void>;
	/** Replies in a sent page's thread (`channel:ts`). */
	reply(providerRef: string, tenant: SlackTenant, message: SlackMessage): Promise<void>;
} {
	const slackClient = lazySlackClient({
		apiUrl: options.apiUrl,
		timeoutMs: options.timeoutMs ?? 10_000,
		retries: 0,
		rejectRateLimitedCalls: true,
	});

	/** Runs one Web API call with the tenant's token, turning whatever it throws into a ChannelError. */
	async function call<T>(
		tenant: SlackTenant,
		method: string,
		run: (token: string, client: WebClient) => Promise<T>,
	): Promise<T> {
		const token = await options.tokenFor(tenant).catch((error) => {
			// A stored token that can't be opened (the secret key changed) is configuration, too.
			throw new ChannelError(`Slack credentials of tenant ${tenant.slug} could not be read`, {
				retryable: false,
				cause: error,
			});
		});
		if (!token) {
			// Configuration, not a passing failure: the page falls through to the member's next method.
			throw new ChannelError(`Slack is not installed for tenant ${tenant.slug}`, { retryable: false });
		}
		const { client, sdk } = await slackClient();
		try {
			return await run(token, client);
		} catch (error) {
			throw toChannelError(method, error, token, sdk);
		}
	}

	// A user's DM channel never changes: open it once, not before every page (a storm would double
	// the calls, and Slack rate-limits conversations.open).
	const dmChannels = lruCache<string, string>(50_000);

	async function openDm(tenant: SlackTenant, userId: string): Promise<string> {
		const known = dmChannels.get(`${tenant.id}:${userId}`);
		if (known) return known;
		const result = await call(tenant, "conversations.open", (token, client) =>
			client.conversations.open({ token, users: userId }),
		);
		const id = result.channel?.id;
		if (!id) throw new ChannelError("Slack conversations.open answered without a channel id", { retryable: true });
		dmChannels.set(`${tenant.id}:${userId}`, id);
		return id;
	}

	async function post(channel: string, n: OutgoingNotification): Promise<Delivery> {
		const message = alertMessage(n.alert, { tenantId: n.tenant.id });
		const result = await call(n.tenant, "chat.postMessage", (token, client) =>
			client.chat.postMessage({
				token,
				channel,
				text: message.text,
				blocks: message.blocks,
				metadata: { event_type: NOTIFICATION_EVENT_TYPE, event_payload: { key: n.key } },
			}),
		);
		// ok without a ts should not happen; if it does the message most likely went out, and a
		// retry would page the person twice, so this is final rather than retryable.
		if (!result.ts) throw new ChannelError("Slack chat.postMessage answered without a ts", { retryable: false });
		return { providerRef: `${result.channel ?? channel}:${result.ts}` };
	}

	async function reply(providerRef: string, tenant: SlackTenant, message: SlackMessage): Promise<void> {
		const [channel, ts] = providerRef.split(":");
		if (!channel || !ts) return;
		await call(tenant, "chat.postMessage", (token, client) =>
			client.chat.postMessage({ token, channel, thread_ts: ts, text: message.text, blocks: message.blocks }),
		);
	}

	async function findIn(channel: string, n: OutgoingNotification): Promise<Delivery | undefined> {
		const oldest = ((n.claimedAt.getTime() - HISTORY_SLACK_MS) / 1000).toFixed(6);
		let cursor: string | undefined;
		for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
			const result = await call(n.tenant, "conversations.history", (token, client) =>
				client.conversations.history({ token, channel, oldest, include_all_metadata: true, limit: 100, cursor }),
			);
			const found = result.messages?.find(
				(m) =>
					m.metadata?.event_type === NOTIFICATION_EVENT_TYPE &&
					(m.metadata.event_payload as { key?: unknown } | undefined)?.key === n.key,
			);
			if (found?.ts) return { providerRef: `${channel}:${found.ts}` };
			cursor = result.response_metadata?.next_cursor;
			if (!result.has_more || !cursor) return undefined;
		}
		return undefined;
	}

	return {
		dm: {
			send: async (n) => post(await openDm(n.tenant, n.destination), n),
			findDelivered: async (n) => findIn(await openDm(n.tenant, n.destination), n),
		},
		async update(providerRef, n, state) {
			const [channel, ts] = providerRef.split(":");
			if (!channel || !ts) return;
			const message = alertMessage(n.alert, { tenantId: n.tenant.id, state: { status: state.status, by: state.by } });
			await call(n.tenant, "chat.update", (token, client) =>
				client.chat.update({ token, channel, ts, text: message.text, blocks: message.blocks }),
			);
			await reply(providerRef, n.tenant, threadFollowUp(state));
		},
		reply,
		async say(tenant, userId, text) {
			const channel = await openDm(tenant, userId);
			await call(tenant, "chat.postMessage", (token, client) => client.chat.postMessage({ token, channel, text }));
		},
		channel: {
			send: (n) => post(n.destination, n),
			findDelivered: (n) => findIn(n.destination, n),
		},
	};
}

/**
 * Classifies an SDK failure. Messages name the method and Slack's error code or HTTP status, never
 * the token or the destination; the SDK error rides along as `cause` for logs.
 */
function toChannelError(method: string, error: unknown, token: string, sdk: SlackSdk): ChannelError {
	const fail = (message: string, retryable: boolean) =>
		new ChannelError(message.replaceAll(token, "[token]"), { retryable, cause: error });

	if (error instanceof ChannelError) return error;
	if (error instanceof sdk.WebAPIRateLimitedError) {
		return fail(`Slack ${method} rate limited (retry after ${error.retryAfter} s)`, true);
	}
	if (error instanceof sdk.WebAPIPlatformError) {
		// A non-JSON body (a proxy's error page) reaches us as a "platform error" whose code is
		// that whole body: name it instead of quoting it.
		const code = /^[a-z0-9_.]{1,64}$/.test(error.data.error) ? error.data.error : undefined;
		if (!code) return fail(`Slack ${method} answered with an unreadable body`, true);
		return fail(`Slack ${method} failed: ${code}`, retryableSlackErrors.has(code));
	}
	if (error instanceof sdk.WebAPIHTTPError) {
		const retryable = error.statusCode >= 500 || error.statusCode === 408 || error.statusCode === 429;
		return fail(`Slack ${method} answered HTTP ${error.statusCode}`, retryable);
	}
	if (error instanceof sdk.WebAPIRequestError) {
		const original = error.original;
		const detail =
			original.name === "TimeoutError" || original.name === "AbortError"
				? "timed out"
				: (errnoCode(original.cause) ?? "network error");
		return fail(`Slack ${method} request failed: ${detail}`, true);
	}
	// With rejectRateLimitedCalls, a 429 without a usable Retry-After header comes out of the SDK
	// as a plain Error with this message (WebClient.makeRequest in 8.2.0).
	if (error instanceof Error && error.message.startsWith("Retry header did not contain a valid timeout")) {
		return fail(`Slack ${method} rate limited`, true);
	}
	return fail(`Slack ${method} failed unexpectedly (${error instanceof Error ? error.name : typeof error})`, false);
}

/** The `ECONNREFUSED`-style code of a fetch failure's cause, when it has one. */
function errnoCode(cause: unknown): string | undefined {
	if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined;
	return typeof cause.code === "string" ? cause.code : undefined;
}
