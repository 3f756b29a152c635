/**
 * Twilio over its REST API (https://www.twilio.com/docs/usage/api), spoken with `fetch` so the base
 * URL is config and tests point it at a local fake (the `twilio` SDK cannot be pointed elsewhere).
 * A call reads the alert and takes keypress 1; an SMS carries `ACK <code>`. Twilio answers a create
 * with 201 and the resource, e.g. for `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`:
 *
 * ```json
 * {
 *   "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "account_sid": "AC…", "status": "queued",
 *   "to": "+15558675310", "from": "+15017122661", "body": "[OpsWatch CRITICAL] Disk full …",
 *   "date_created": "Wed, 18 Aug 2021 20:01:17 +0000", "direction": "outbound-api"
 * }
 * ```
 *
 * and refuses with `{ "code": 21211, "message": "The 'To' number +1555 is not a valid phone
 * number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400 }`. Webhooks
 * Twilio sends back are signed (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ChannelError, type Delivery, type OutgoingNotification, type Telephony } from "./channels.ts";

/** Options of {@link createTwilio}. */
export interface TwilioOptions {
	/** Twilio's API base URL, `https://api.twilio.com` in production; tests pass a local fake's. */
	apiUrl: string;
	accountSid: string;
	authToken: string;
	/** The Twilio number calls and messages come from, E.164. */
	from: string;
	/** OpsWatch's external base URL, which Twilio calls back (status, keypresses). */
	publicUrl: string;
	/** Per request, including reading the answer; 10 s when not given. */
	timeoutMs?: number;
}

/** Where Twilio calls OpsWatch back; `?tenant=…&notification=…` says about which page. */
export const twilioWebhookPaths = {
	status: "/api/v1/telephony/twilio/status",
	gather: "/api/v1/telephony/twilio/gather",
} as const;

/** 3 segments in GSM-7 (5 if a character forces UCS-2): room for a fix, still read at a glance. */
export const SMS_MAX_LENGTH = 320;
/** Twilio refuses inline TwiML over 4,000 characters. */
const TWIML_MAX_LENGTH = 4000;
const SPOKEN_TITLE_MAX = 300;
const SPOKEN_FIX_MAX = 600;
/** Twilio's and our clocks differ, and a send takes a moment: how far before the claim to look. */
const RECONCILE_SLACK_MS = 60_000;
/** Pages (newest first, 100 each) read when reconciling: far more than one number gets in a day. */
const MAX_LIST_PAGES = 5;

/** Telephony through Twilio: calls with inline TwiML and SMS, both with status callbacks to OpsWatch. */
export function createTwilio(options: TwilioOptions): Telephony {
	const api = options.apiUrl.replace(/\/+$/, "");
	const publicUrl = options.publicUrl.replace(/\/+$/, "");
	const account = `/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}`;
	const timeoutMs = options.timeoutMs ?? 10_000;
	const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString("base64")}`;

	/** Twilio's messages quote the number they refused; ours must never carry it, nor a credential. */
	const scrub = (text: string, destination: string) => {
		let out = text;
		for (const secret of [options.authToken, options.accountSid, destination, options.from]) {
			if (secret) out = out.split(secret).join("[redacted]");
		}
		return out
			.replace(/AC[0-9a-fA-F]{32}/g, "[redacted]")
			.replace(/\+?\d[\d\s().-]{5,}\d/g, "[phone number]")
			.slice(0, 300);
	};

	async function request(what: string, destination: string, path: string, form?: URLSearchParams): Promise<unknown> {
		let status: number;
		let text: string;
		try {
			const response = await fetch(`${api}${path}`, {
				method: form ? "POST" : "GET",
				headers: {
					authorization,
					accept: "application/json",
					...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
				},
				body: form?.toString(),
				signal: AbortSignal.timeout(timeoutMs),
			});
			status = response.status;
			text = await response.text();
		} catch (error) {
			// No `cause`: fetch's errors can quote the URL, and the URL holds the account SID.
			throw new ChannelError(`Twilio ${what} failed: ${networkReason(error, timeoutMs)}`, { retryable: true });
		}
		const body = parseJson(text);
		if (status >= 200 && status < 300) return body;
		const code = isRecord(body) && typeof body.code === "number" ? `, error ${body.code}` : "";
		const said = isRecord(body) && typeof body.message === "string" ? `: ${scrub(body.message, destination)}` : "";
		throw new ChannelError(`Twilio ${what} failed: HTTP ${status}${code}${said}`, {
			retryable: status === 429 || status >= 500,
		});
	}

	async function create(what: string, n: OutgoingNotification, resource: string, form: URLSearchParams) {
		const body = await request(what, n.destination, `${account}/${resource}`, form);
		// Twilio took it, so a retry would page twice: say so rather than retry.
		if (!isRecord(body) || typeof body.sid !== "string") {
			throw new ChannelError(`Twilio ${what}: accepted without a sid`, { retryable: false });
		}
		return { providerRef: body.sid };
	}

	/** Every item of a Twilio list, following `next_page_uri` a few pages. */
	async function list(what: string, n: OutgoingNotification, resource: "Messages" | "Calls", query: URLSearchParams) {
		const items: Record<string, unknown>[] = [];
		let path: string | undefined = `${account}/${resource}.json?${query}`;
		for (let page = 0; path && page < MAX_LIST_PAGES; page++) {
			const body = await request(what, n.destination, path);
			const key = resource === "Messages" ? "messages" : "calls";
			if (!isRecord(body) || !Array.isArray(body[key])) {
				throw new ChannelError(`Twilio ${what}: answer without a ${key} list`, { retryable: true });
			}
			items.push(...body[key].filter(isRecord));
			const next = body.next_page_uri;
			path = typeof next === "string" && next.startsWith(`${account}/`) ? next : undefined;
		}
		return items;
	}

	/** Lower bound of the search and the UTC day Twilio's date filter takes (the bound's, which may be the day before the claim). */
	const searchWindow = (n: OutgoingNotification) => {
		const since = n.claimedAt.getTime() - RECONCILE_SLACK_MS;
		return { since, day: new Date(since).toISOString().slice(0, 10) };
	};

	return {
		provider: "twilio",
		call: {
			async send(n) {
				const form = new URLSearchParams({
					To: n.destination,
					From: options.from,
					Twiml: callTwiml(n, publicUrl),
					StatusCallback: webhookUrl(publicUrl, "status", n),
				});
				return create("call", n, "Calls.json", form);
			},
			async findDelivered(n) {
				const { since, day } = searchWindow(n);
				const query = new URLSearchParams({ To: n.destination, "StartTime>": day, PageSize: "100" });
				const calls = await list("call lookup", n, "Calls", query);
				// A call carries nothing of ours (no body, no metadata), so the best evidence is a call from
				// our number to theirs since the claim. Another page to the same person within the minute
				// before the claim could be taken for this one; we prefer the first call after the claim.
				// Calls still queued have no start time and may be missing from the StartTime filter.
				return nearest(
					calls.filter((c) => c.to === n.destination && c.from === options.from && sent(c.status)),
					since,
					n.claimedAt.getTime(),
				);
			},
		},
		sms: {
			async send(n) {
				const form = new URLSearchParams({
					To: n.destination,
					From: options.from,
					Body: smsBody(n),
					StatusCallback: webhookUrl(publicUrl, "status", n),
				});
				return create("SMS", n, "Messages.json", form);
			},
			async findDelivered(n) {
				const { since, day } = searchWindow(n);
				const query = new URLSearchParams({ To: n.destination, "DateSent>": day, PageSize: "100" });
				const messages = await list("SMS lookup", n, "Messages", query);
				// The ACK code is in the body, so this is our message and not another page to the same person.
				const ours = new RegExp(`\\bACK ${escapeRegExp(n.ackCode)}(?!\\d)`);
				return nearest(
					messages.filter(
						(m) => typeof m.body === "string" && ours.test(m.body) && m.direction !== "inbound" && sent(m.status),
					),
					since,
					n.claimedAt.getTime(),
				);
			},
		},
	};
}

/** Twilio's "failed" and "canceled" never reached the person, so sending again is right. */
const sent = (status: unknown) => status !== "failed" && status !== "canceled";

/** The first item created at or after `claimed`, else the last one in `[since, claimed)` (clock skew). */
function nearest(items: Record<string, unknown>[], since: number, claimed: number): Delivery | undefined {
	const dated = items
		.map((item) => ({ sid: item.sid, at: typeof item.date_created === "string" ? Date.parse(item.date_created) : NaN }))
		.filter((item): item is { sid: string; at: number } => typeof item.sid === "string" && item.at >= since)
		.sort((a, b) => a.at - b.at);
	const found = dated.find((item) => item.at >= claimed) ?? dated.at(-1);
	return found && { providerRef: found.sid };
}

/** The callback URL for one notification, on OpsWatch's public base URL. */
export function webhookUrl(publicUrl: string, kind: keyof typeof twilioWebhookPaths, n: OutgoingNotification): string {
	const query = new URLSearchParams({ tenant: n.tenant.id, notification: n.id });
	return `${publicUrl.replace(/\/+$/, "")}${twilioWebhookPaths[kind]}?${query}`;
}

/** The TwiML a call plays: the alert, the known fix if any, then "press 1" gathered back to OpsWatch. */
export function callTwiml(n: OutgoingNotification, publicUrl: string): string {
	const title = truncate(oneLine(n.alert.title).replace(/[.!?\s]+$/, ""), SPOKEN_TITLE_MAX);
	const intro = say(`OpsWatch alert. Severity ${oneLine(n.alert.severity)}. ${title}.`);
	const fix = n.alert.solution ? plainText(n.alert.solution) : "";
	const gather =
		`<Gather numDigits="1" timeout="10" action="${xml(webhookUrl(publicUrl, "gather", n))}" method="POST">` +
		`${say("Press 1 to acknowledge.")}</Gather>`;
	const outro = say("No input received. The alert stays open. Goodbye.");
	const build = (withFix: boolean) =>
		twiml(
			intro +
				(withFix && fix ? say(`Known fix: ${truncate(fix, SPOKEN_FIX_MAX).replace(/[.\s]+$/, "")}.`) : "") +
				gather +
				outro,
		);
	// Escaping can grow a fix full of `&` and `<` past Twilio's limit; the alert and the prompt matter more.
	const full = build(true);
	return full.length <= TWIML_MAX_LENGTH ? full : build(false);
}

/**
 * The SMS: `[OpsWatch SEVERITY] title Fix: … Reply ACK <code> to acknowledge.`, at most
 * {@link SMS_MAX_LENGTH} UTF-16 units. The title and fix are shortened; the ACK instruction never is.
 */
export function smsBody(n: OutgoingNotification): string {
	const prefix = `[OpsWatch ${oneLine(n.alert.severity).toUpperCase().slice(0, 16)}] `;
	const suffix = ` Reply ACK ${n.ackCode} to acknowledge.`;
	const budget = SMS_MAX_LENGTH - prefix.length - suffix.length;
	const title = oneLine(n.alert.title);
	const fix = n.alert.solution ? plainText(n.alert.solution) : "";
	if (!fix) return prefix + truncate(title, budget) + suffix;
	const lead = " Fix: ";
	// The title keeps at least 120 characters; the fix gets the rest, or is left out when under 20.
	const shortTitle = truncate(title, Math.max(budget - lead.length - fix.length, 120));
	const room = budget - shortTitle.length - lead.length;
	return prefix + shortTitle + (room >= 20 ? lead + truncate(fix, room) : "") + suffix;
}

/** Markdown as text to read aloud or send by SMS: markup dropped, link texts kept, lines as sentences. */
export function plainText(markdown: string): string {
	const lines = markdown
		.replace(/\r\n?/g, "\n")
		.replace(/^\s*(```|~~~).*$/gm, "") // fence lines go; the commands inside are the fix
		.replace(/<[^>\n]+>/g, "")
		.split("\n")
		.map((line) =>
			line
				.replace(/^\s*(?:[-*_]\s*){3,}$/, "") // thematic break
				.replace(/^\s*\|?[\s:|-]*-[\s:|-]*$/, "") // table separator row
				.replace(/^\s{0,3}#{1,6}\s+/, "")
				.replace(/^\s*(?:>\s?)+/, "")
				.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, "")
				.replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
				.replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
				.replace(/`+([^`]*)`+/g, "$1")
				.replace(/~~(.+?)~~/g, "$1")
				.replace(/(\*\*|__)(.+?)\1/g, "$2")
				// Single `_`/`*` only at word edges, so pg_stat_activity keeps its underscores.
				.replace(/(^|[^\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])/g, "$1$2")
				.replace(/\|/g, " ")
				.replace(/\s+/g, " ")
				.trim(),
		)
		.filter((line) => line !== "");
	return lines.map((line, i) => (i < lines.length - 1 && !/[.!?:;,]$/.test(line) ? `${line}.` : line)).join(" ");
}

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security): the
 * full URL Twilio requested, then each POST parameter's name and value in name order, HMAC-SHA1
 * with the auth token, base64.
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, key) => acc + key + params[key], url);
	return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * Whether `header` (X-Twilio-Signature) signs this request. `url` must be exactly what Twilio
 * requested (scheme, host, port, path and query as configured on Twilio's side), not what a proxy
 * forwarded.
 */
export function verifyTwilioSignature(
	authToken: string,
	url: string,
	params: Record<string, string>,
	header: string | undefined,
): boolean {
	if (!header) return false;
	const expected = Buffer.from(twilioSignature(authToken, url, params));
	const given = Buffer.from(header);
	return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * The answer to a keypress: says `message` and hangs up. When not acknowledged and `retryUrl` (the
 * gather URL) is given, offers the keypress once more instead.
 */
export function gatherResponseTwiml(acknowledged: boolean, message: string, options: { retryUrl?: string } = {}) {
	if (!acknowledged && options.retryUrl) {
		return twiml(
			`<Gather numDigits="1" timeout="10" action="${xml(options.retryUrl)}" method="POST">` +
				`${say(message)}${say("Press 1 to acknowledge.")}</Gather>${say("Goodbye.")}<Hangup/>`,
		);
	}
	return twiml(`${say(message)}<Hangup/>`);
}

/** The answer to an inbound SMS: one reply message. */
export function smsReplyTwiml(message: string): string {
	return twiml(`<Message>${xml(message)}</Message>`);
}

/** The code of an `ACK <code>` reply (any case and spacing, 4 to 8 digits), else undefined. */
export function parseAckReply(body: string): string | undefined {
	return /^\s*ack(?![a-z])[\s:#-]*(\d{4,8})\s*[.!]?\s*$/i.exec(body)?.[1];
}

/** Text as XML character data or an attribute value. */
export function xml(text: string): string {
	// Control characters other than tab and newline are not allowed in XML 1.0 at all.
	// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
	const clean = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "");
	return clean.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);
}

const twiml = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>`;
const say = (text: string) => `<Say>${xml(text)}</Say>`;
const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** At most `max` UTF-16 units, cut at a word when one is near, never inside a surrogate pair. */
function truncate(text: string, max: number): string {
	if (text.length <= max) return text;
	const ellipsis = "..."; // ASCII: "…" is not GSM-7 and would make the whole SMS UCS-2 (70 per segment)
	let cut = "";
	for (const char of text) {
		if (cut.length + char.length > max - ellipsis.length) break;
		cut += char;
	}
	const space = cut.lastIndexOf(" ");
	if (space > 0 && space >= cut.length - 20) cut = cut.slice(0, space);
	return cut.trimEnd() + ellipsis;
}

function networkReason(error: unknown, timeoutMs: number): string {
	if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
		return `no answer within ${timeoutMs} ms`;
	}
	const cause = error instanceof Error ? error.cause : undefined;
	const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
	return code ? `network error ${code}` : "network error";
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
