/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), through
 * the `web-push` package. The package builds each request (VAPID JWT, encryption, headers); this
 * adapter sends it with `fetch`, so a test's push service can be a plain local HTTP server and the
 * timeout is an AbortSignal like every other adapter's.
 *
 * `destination` is the member's subscriptions, as the browser's `PushSubscription.toJSON()` gives
 * them, serialized as a JSON array:
 *
 * ```json
 * [{ "endpoint": "https://fcm.googleapis.com/fcm/send/dJ6…", "expirationTime": null,
 *    "keys": { "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
 *              "auth": "tBHItJI5svbpez7KI4CCXg" } }]
 * ```
 *
 * The payload the service worker receives (decrypted):
 *
 * ```json
 * { "title": "[CRITICAL] Disk full on db-1", "body": "Rotate the WAL archive…",
 *   "url": "https://opswatch.example.com/alerts/…", "tag": "…alert id…", "ackCode": "K7Q2" }
 * ```
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { RequestDetails } from "web-push";
import { type Channel, ChannelError, type Delivery, type OutgoingNotification } from "./channels.ts";

/** VAPID keys (base64url, as {@link generateVapidKeys} makes them) and the contact push services see. */
export interface WebPushOptions {
	publicKey: string;
	privateKey: string;
	/** `mailto:` or `https:` contact for push service operators. */
	subject: string;
	/** Per-request timeout; 10 s by default. */
	timeoutMs?: number;
	/**
	 * Accept `http:` endpoints. Only tests need this: browsers hand out `https:` endpoints, and
	 * refusing others keeps a forged subscription from aiming requests at plain-HTTP internal hosts.
	 */
	allowInsecureEndpoints?: boolean;
}

/** A browser's push subscription. */
export interface PushSubscriptionJson {
	endpoint: string;
	keys: { p256dh: string; auth: string };
}

/** A delivery to at least one subscription, and the subscriptions the push service says are gone. */
export interface PushDelivery extends Delivery {
	/** Endpoints answered 404 or 410: the subscription no longer exists and should be deleted. */
	expired?: string[];
}

/** No subscription accepted the push; `expired` lists the ones to delete, as in {@link PushDelivery}. */
export class PushChannelError extends ChannelError {
	readonly expired: string[];
	constructor(message: string, options: { retryable: boolean; expired: string[]; cause?: unknown }) {
		super(message, options);
		this.name = "PushChannelError";
		this.expired = options.expired;
	}
}

/** The push channel: `send` pushes to every subscription of the member and reports expired ones. */
export interface WebPushChannel extends Channel {
	send(notification: OutgoingNotification): Promise<PushDelivery>;
}

/**
 * The package, loaded on first use: most deployments configure no push keys, and it and its
 * crypto dependencies are 1.5 MB of heap that the ingest path's young generation would rather have
 * (ADR 0008). Required (it is CommonJS) so that construction stays synchronous.
 */
let loaded: typeof import("web-push") | undefined;
const webpush = () => (loaded ??= createRequire(import.meta.url)("web-push") as typeof import("web-push"));

const DEFAULT_TIMEOUT_MS = 10_000;
/** A page older than 5 minutes has been escalated past; the push service may drop it. */
const TTL_SECONDS = 300;
/** Push services accept about 4 KB of encrypted payload; the text stays well under. */
const BODY_MAX = 600;
const TITLE_MAX = 120;
const MAX_SUBSCRIPTIONS = 20;

/** Makes a VAPID key pair (base64url), for `opswatch` to print once at setup. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
	return webpush().generateVAPIDKeys();
}

/**
 * The Web Push channel. Checks the VAPID keys and subject at construction, so a bad deployment
 * stops at boot.
 */
export function createWebPushChannel(options: WebPushOptions): { channel: WebPushChannel } {
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const vapidDetails = { subject: options.subject, publicKey: options.publicKey, privateKey: options.privateKey };
	try {
		webpush().getVapidHeaders(
			"https://push.example.invalid",
			options.subject,
			options.publicKey,
			options.privateKey,
			"aes128gcm",
		);
	} catch (error) {
		// web-push's messages name the problem (subject scheme, key length) without the key itself.
		throw new Error(`Invalid Web Push VAPID configuration: ${(error as Error).message}`);
	}

	/** One push; resolves to what happened to this subscription rather than throwing. */
	async function push(subscription: PushSubscriptionJson, payload: string, topic: string): Promise<Outcome> {
		let details: RequestDetails;
		try {
			details = webpush().generateRequestDetails(subscription, payload, {
				vapidDetails,
				TTL: TTL_SECONDS,
				urgency: "high",
				topic,
				contentEncoding: "aes128gcm",
			});
		} catch (error) {
			// Malformed keys in a stored subscription: retrying will not fix them.
			return { kind: "failed", retryable: false, reason: "invalid subscription keys", cause: error };
		}
		let response: Response;
		try {
			response = await fetch(details.endpoint, {
				method: details.method,
				// fetch sets Content-Length from the body itself.
				headers: Object.fromEntries(
					Object.entries(details.headers)
						.filter(([name]) => name.toLowerCase() !== "content-length")
						.map(([name, value]) => [name, String(value)]),
				),
				body: details.body ? new Uint8Array(details.body) : null,
				redirect: "error",
				signal: AbortSignal.timeout(timeoutMs),
			});
		} catch (error) {
			const reason = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "unreachable";
			return { kind: "failed", retryable: true, reason, cause: error };
		}
		await response.body?.cancel().catch(() => undefined);
		if (response.ok) return { kind: "accepted", location: response.headers.get("location") ?? undefined };
		if (response.status === 404 || response.status === 410) return { kind: "expired" };
		return {
			kind: "failed",
			// 429 and 5xx pass; 400 (bad request), 401/403 (VAPID key not the one the subscription
			// was made with) and 413 (payload too large) will not change on a retry.
			retryable: response.status === 429 || response.status >= 500,
			reason: `HTTP ${response.status}`,
		};
	}

	const channel: WebPushChannel = {
		async send(n) {
			const subscriptions = parseSubscriptions(n.destination, options.allowInsecureEndpoints === true);
			if (subscriptions.length === 0) {
				throw new PushChannelError("The member has no push subscription", { retryable: false, expired: [] });
			}
			const payload = JSON.stringify(pushPayload(n));
			// The push service replaces a message still queued under the same topic, so a resend of
			// this notification after a crash replaces the first instead of adding a second.
			const topic = createHash("sha256").update(n.key).digest("base64url").slice(0, 32);
			const outcomes = await Promise.all(subscriptions.map((s) => push(s, payload, topic)));
			const expired = subscriptions.filter((_, i) => outcomes[i]?.kind === "expired").map((s) => s.endpoint);
			const accepted = outcomes.find((o): o is Accepted => o.kind === "accepted");
			if (accepted) {
				// The push service's message URL when it gives one; else the notification id, so
				// the outbox has a reference either way.
				return { providerRef: accepted.location ?? `push:${n.id}`, ...(expired.length ? { expired } : {}) };
			}
			const failures = outcomes.filter((o): o is Failed => o.kind === "failed");
			const retryable = failures.some((f) => f.retryable);
			const summary = [expired.length ? `${expired.length} expired` : "", ...failures.map((f) => f.reason)]
				.filter(Boolean)
				.join(", ");
			throw new PushChannelError(`No push subscription accepted the page (${subscriptions.length} tried: ${summary})`, {
				retryable,
				expired,
				cause: failures.find((f) => f.cause)?.cause,
			});
		},

		/**
		 * Always undefined: Web Push has no delivery receipts and no way to ask what was sent. A
		 * resend after a crash is harmless: it carries the same `tag` (the alert id), so the browser
		 * replaces the first notification instead of showing two, and the same topic, so a push
		 * service still holding the first drops it.
		 */
		async findDelivered() {
			return undefined;
		},
	};
	return { channel };
}

type Accepted = { kind: "accepted"; location: string | undefined };
type Failed = { kind: "failed"; retryable: boolean; reason: string; cause?: unknown };
type Outcome = Accepted | Failed | { kind: "expired" };

/** What the service worker shows: title, body, where a tap goes, and the code to acknowledge. */
function pushPayload(n: OutgoingNotification) {
	const { alert } = n;
	const labels = Object.entries(alert.labels)
		.map(([k, v]) => `${k}=${v}`)
		.join(", ");
	const body = alert.solution ? plainText(alert.solution) : labels;
	return {
		title: clip(`[${alert.severity.toUpperCase()}] ${alert.title}`, TITLE_MAX),
		body: clip(body, BODY_MAX),
		url: alert.url,
		tag: alert.id,
		ackCode: n.ackCode,
	};
}

/**
 * The destination's subscriptions, deduplicated by endpoint. A destination that is not a JSON
 * array of subscriptions is a bug upstream, not a transient failure.
 */
function parseSubscriptions(destination: string, allowInsecure: boolean): PushSubscriptionJson[] {
	let parsed: unknown;
	try {
		parsed = JSON.parse(destination);
	} catch (error) {
		throw new PushChannelError("Push destination is not JSON", { retryable: false, expired: [], cause: error });
	}
	if (!Array.isArray(parsed)) {
		throw new PushChannelError("Push destination is not an array of subscriptions", { retryable: false, expired: [] });
	}
	const byEndpoint = new Map<string, PushSubscriptionJson>();
	for (const item of parsed) {
		const s = item as Partial<PushSubscriptionJson> | null;
		if (
			!s ||
			typeof s.endpoint !== "string" ||
			typeof s.keys?.p256dh !== "string" ||
			typeof s.keys?.auth !== "string" ||
			!endpointAllowed(s.endpoint, allowInsecure)
		) {
			throw new PushChannelError("Push destination holds an invalid subscription", { retryable: false, expired: [] });
		}
		byEndpoint.set(s.endpoint, { endpoint: s.endpoint, keys: { p256dh: s.keys.p256dh, auth: s.keys.auth } });
	}
	return [...byEndpoint.values()].slice(0, MAX_SUBSCRIPTIONS);
}

function endpointAllowed(endpoint: string, allowInsecure: boolean): boolean {
	try {
		const { protocol } = new URL(endpoint);
		return protocol === "https:" || (allowInsecure && protocol === "http:");
	} catch {
		return false;
	}
}

/** Markdown to one line of plain text for a lock screen. */
function plainText(markdown: string): string {
	return markdown
		.replace(/```[\s\S]*?```/g, " ")
		.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
		.replace(/`([^`]*)`/g, "$1")
		.replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+/gm, "")
		.replace(/[*_~]{1,3}([^*_~]+)[*_~]{1,3}/g, "$1")
		.replace(/\s+/g, " ")
		.trim();
}

function clip(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
