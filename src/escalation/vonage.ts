/**
 * Vonage telephony over its REST APIs, with `fetch` and no SDK: a Voice API call that reads the
 * alert and takes keypress 1, an SMS with the ACK code, and pure verifiers for the webhooks Vonage
 * signs. Base URLs are options so tests point them at a fake (test/harness/fake-vonage.ts).
 *
 * What comes back to the routes this adapter names (handled elsewhere, verified with the functions
 * below). The DTMF result, POSTed to the input action's eventUrl, signed with a JWT in
 * `Authorization: Bearer` (verifyVonageSignedJwt):
 *
 * ```json
 * { "dtmf": { "digits": "1", "timed_out": false }, "speech": { "results": [] },
 *   "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356", "conversation_uuid": "CON-2541d01c-…",
 *   "from": "447700900001", "to": "447700900000", "timestamp": "2026-11-26T03:00:12.000Z" }
 * ```
 *
 * An inbound SMS reply with signed webhooks enabled (verifyVonageSmsSignature):
 * `msisdn=447700900000&to=447700900001&messageId=0A0000000123ABCD1&text=ACK+K7Q2&type=text&keyword=ACK&message-timestamp=2026-11-26+03%3A01%3A05&timestamp=1795662065&nonce=8d2…&sig=…`
 *
 * Docs: Voice API https://developer.vonage.com/en/api/voice, NCCO reference
 * https://developer.vonage.com/en/voice/voice-api/ncco-reference, SMS API
 * https://developer.vonage.com/en/api/sms, signing
 * https://developer.vonage.com/en/getting-started/concepts/signing-messages and
 * https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks.
 */
import {
	createHash,
	createHmac,
	createPrivateKey,
	createSign,
	type KeyObject,
	randomUUID,
	timingSafeEqual,
} from "node:crypto";
import { type Clock, systemClock } from "../platform/clock.ts";
import { ChannelError, type OutgoingNotification, type Telephony } from "./channels.ts";

/** How to reach Vonage and where its webhooks come back to. */
export interface VonageOptions {
	/** Voice API base URL, `https://api.nexmo.com`. */
	apiUrl: string;
	/** SMS API base URL, `https://rest.nexmo.com`. */
	smsUrl: string;
	/** The Vonage application whose private key signs Voice API requests. */
	applicationId: string;
	/** The application's private key (PEM), for the Voice API's RS256 JWT. */
	privateKey: string;
	/** Account API key and secret, for the SMS API. */
	apiKey: string;
	apiSecret: string;
	/** The Vonage number (E.164, with or without `+`) calls come from; SMS may use an alphanumeric sender. */
	from: string;
	/** OpsWatch's public base URL, where Vonage sends call events and keypresses. */
	publicUrl: string;
	/** Per-request timeout; 10 s by default. */
	timeoutMs?: number;
	clock?: Clock;
}

/** An NCCO (Nexmo Call Control Object): the actions a call performs, in order. */
export type Ncco = Record<string, unknown>[];

const DEFAULT_TIMEOUT_MS = 10_000;
/** Lifetime of the JWT that authenticates one Voice API request: made per request, so short. */
const JWT_TTL_SECONDS = 300;
/** How old a signed webhook may be, and how far in the future its clock may run. */
const WEBHOOK_MAX_AGE_SECONDS = 300;
const WEBHOOK_MAX_SKEW_SECONDS = 60;
/** Vonage keeps `client-ref` up to 100 characters. */
const CLIENT_REF_MAX = 100;
const SMS_MAX = 320;
/** Vonage truncates talk text at 1,500 characters; the alert never needs that much. */
const SPOKEN_FIX_MAX = 400;
/** SMS API statuses worth retrying: 1 throttled, 5 internal error. Others are the request's fault. */
const SMS_RETRYABLE = new Set(["1", "5"]);
/** How earlier calls are searched for: slack for clock skew, and an upper bound on pages read. */
const CALL_SEARCH_SLACK_MS = 60_000;
const CALL_SEARCH_PAGE_SIZE = 100;
const CALL_SEARCH_MAX_PAGES = 10;

/**
 * Vonage telephony (`provider: "vonage"`). Fails at construction when the private key is not a
 * valid key, so a bad deployment stops at boot instead of at the first page.
 */
export function createVonage(options: VonageOptions): Telephony {
	const clock = options.clock ?? systemClock;
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const apiUrl = options.apiUrl.replace(/\/+$/, "");
	const smsUrl = options.smsUrl.replace(/\/+$/, "");
	const publicUrl = options.publicUrl.replace(/\/+$/, "");
	const secrets = [options.apiKey, options.apiSecret, options.applicationId].filter((s) => s.length >= 4);
	let privateKey: KeyObject;
	try {
		// A PEM from an environment variable often arrives with literal "\n".
		privateKey = createPrivateKey(options.privateKey.replace(/\\n/g, "\n"));
	} catch {
		throw new Error("The Vonage private key is not a valid PEM private key.");
	}

	const bearer = () =>
		`Bearer ${vonageApplicationJwt(options.applicationId, privateKey, clock.now(), JWT_TTL_SECONDS)}`;

	/** One request to Vonage; transport failures, 429 and 5xx are retryable, other 4xx are not. */
	async function call(what: string, url: string, init: RequestInit): Promise<unknown> {
		let response: Response;
		try {
			response = await fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
		} catch (error) {
			const reason = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "unreachable";
			throw new ChannelError(`Vonage ${what}: ${reason}`, { retryable: true, cause: error });
		}
		const text = await response.text().catch(() => "");
		if (!response.ok) {
			const retryable = response.status === 429 || response.status >= 500;
			const title = problemTitle(text);
			throw new ChannelError(
				`Vonage ${what} failed with HTTP ${response.status}${title ? ` (${clip(redact(title, secrets), 120)})` : ""}`,
				{ retryable },
			);
		}
		try {
			return text ? JSON.parse(text) : {};
		} catch (error) {
			throw new ChannelError(`Vonage ${what} answered HTTP ${response.status} with a body that is not JSON`, {
				retryable: false,
				cause: error,
			});
		}
	}

	const webhookQuery = (n: OutgoingNotification) =>
		`tenant=${encodeURIComponent(n.tenant.id)}&notification=${encodeURIComponent(n.id)}`;

	return {
		provider: "vonage",

		call: {
			async send(n) {
				const to = vonageNumber(n.destination);
				const from = vonageNumber(options.from);
				const body = {
					to: [{ type: "phone", number: to }],
					from: { type: "phone", number: from },
					ncco: callNcco(n, `${publicUrl}/api/v1/telephony/vonage/input?${webhookQuery(n)}`),
					event_url: [`${publicUrl}/api/v1/telephony/vonage/event?${webhookQuery(n)}`],
					event_method: "POST",
				};
				const answer = (await call("call", `${apiUrl}/v1/calls`, {
					method: "POST",
					headers: { authorization: bearer(), "content-type": "application/json", accept: "application/json" },
					body: JSON.stringify(body),
				})) as { uuid?: unknown };
				if (typeof answer.uuid !== "string" || !answer.uuid) {
					throw new ChannelError("Vonage call answered without a call uuid", { retryable: false });
				}
				return { providerRef: answer.uuid };
			},

			/**
			 * A Voice API call keeps no reference of ours, so an earlier attempt is recognised by its
			 * destination and time: the first outbound call to the same number since the attempt was
			 * claimed (less a minute of clock skew). Another page to the same person in that window
			 * would be taken for this one; the window is a single claim, so that is rare.
			 */
			async findDelivered(n) {
				const to = vonageNumber(n.destination);
				const from = vonageNumber(options.from);
				const since = new Date(n.claimedAt.getTime() - CALL_SEARCH_SLACK_MS);
				const until = new Date(clock.now().getTime() + CALL_SEARCH_SLACK_MS);
				for (let page = 0, index = 0; page < CALL_SEARCH_MAX_PAGES; page++) {
					const query = new URLSearchParams({
						date_start: vonageDate(since),
						date_end: vonageDate(until),
						page_size: String(CALL_SEARCH_PAGE_SIZE),
						record_index: String(index),
						order: "asc",
					});
					const answer = (await call("call search", `${apiUrl}/v1/calls?${query}`, {
						method: "GET",
						headers: { authorization: bearer(), accept: "application/json" },
					})) as CallPage;
					const calls = answer._embedded?.calls ?? [];
					const match = calls.find(
						(c) =>
							c.to?.number === to &&
							c.direction !== "inbound" &&
							(c.from?.number === undefined || c.from.number === from) &&
							typeof c.uuid === "string",
					);
					if (match) return { providerRef: match.uuid as string };
					index += calls.length;
					if (calls.length === 0 || index >= (answer.count ?? 0)) return undefined;
				}
				return undefined;
			},
		},

		sms: {
			async send(n) {
				const text = smsText(n);
				const form = new URLSearchParams({
					api_key: options.apiKey,
					api_secret: options.apiSecret,
					from: smsSender(options.from),
					to: vonageNumber(n.destination),
					text,
					"client-ref": vonageClientRef(n.key),
				});
				// Without `unicode`, characters outside GSM-7 arrive as "?".
				if (!isGsm7(text)) form.set("type", "unicode");
				const answer = (await call("SMS", `${smsUrl}/sms/json`, {
					method: "POST",
					headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
					body: form.toString(),
				})) as SmsAnswer;
				// A long text goes as several parts, one entry each. Once the first part is accepted,
				// the person has the page: retrying for a later part would only send it all again.
				const first = answer.messages?.[0];
				if (!first) throw new ChannelError("Vonage SMS answered without a message status", { retryable: false });
				const status = String(first.status ?? "");
				if (status === "0" && typeof first["message-id"] === "string") {
					return { providerRef: first["message-id"] };
				}
				const reason = first["error-text"] ? `: ${redact(String(first["error-text"]), secrets)}` : "";
				throw new ChannelError(`Vonage SMS rejected with status ${status || "unknown"}${reason}`, {
					retryable: SMS_RETRYABLE.has(status),
				});
			},

			/**
			 * Always undefined: the SMS API has no way to look a message up by `client-ref`.
			 * `GET /search/messages` (the old Developer API search) is deprecated and searched by
			 * message id, or by date and recipient, never by our reference. The Reports API
			 * (`GET /v2/reports/records?product=SMS`) is the replacement, but it is a separately billed
			 * product whose records arrive minutes late, which is too late to stop a resend. A resent
			 * SMS is cheap and harmless: it carries the same ACK code, so acknowledging either works.
			 */
			async findDelivered() {
				return undefined;
			},
		},
	};
}

/** One page of `GET /v1/calls` (only the fields this adapter reads). */
interface CallPage {
	count?: number;
	_embedded?: {
		calls?: {
			uuid?: string;
			direction?: string;
			to?: { type?: string; number?: string };
			from?: { type?: string; number?: string };
		}[];
	};
}

/** What `POST /sms/json` answers (only the fields this adapter reads). */
interface SmsAnswer {
	messages?: { status?: string; "message-id"?: string; "error-text"?: string }[];
}

/**
 * The JWT that authenticates a Voice API request: RS256 over the application's private key, with
 * the claims Vonage requires (`application_id`, `iat`, `jti`) and a short `exp`.
 */
function vonageApplicationJwt(applicationId: string, key: KeyObject, now: Date, ttlSeconds: number): string {
	const iat = Math.floor(now.getTime() / 1000);
	const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
	const claims = base64url(
		JSON.stringify({ application_id: applicationId, iat, jti: randomUUID(), exp: iat + ttlSeconds }),
	);
	const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key).toString("base64url");
	return `${header}.${claims}.${signature}`;
}

/**
 * The NCCO that reads the alert and waits for one key. `bargeIn` lets a person press 1 without
 * listening to the end; the talk loops twice for someone who picked up late. The keypress (or the
 * timeout) goes to `inputUrl`, whose answer (see {@link inputResponseNcco}) continues the call.
 */
function callNcco(n: OutgoingNotification, inputUrl: string): Ncco {
	const { alert } = n;
	const fix = alert.solution ? clip(plainText(alert.solution), SPOKEN_FIX_MAX) : "";
	const text = [
		"OpsWatch alert.",
		`Severity ${alert.severity}.`,
		sentence(clip(plainText(alert.title), 300)),
		fix ? `Known fix: ${sentence(fix)}` : "",
		"Press 1 to acknowledge.",
	]
		.filter(Boolean)
		.join(" ");
	return [
		{ action: "talk", text, bargeIn: true, loop: 2 },
		{
			action: "input",
			type: ["dtmf"],
			dtmf: { maxDigits: 1, timeOut: 10 },
			eventUrl: [inputUrl],
			eventMethod: "POST",
		},
	];
}

/**
 * The NCCO that answers the DTMF input webhook: speaks `message` and ends the call. When the
 * keypress did not acknowledge (another key, or none), the message is spoken twice: the person
 * must not hang up believing the page is handled.
 */
export function inputResponseNcco(acknowledged: boolean, message: string): Ncco {
	return [acknowledged ? { action: "talk", text: message } : { action: "talk", text: message, loop: 2 }];
}

/**
 * The SMS: `[OpsWatch CRITICAL] title - fix url Reply ACK code to acknowledge.`, at most 320
 * characters, in GSM-7 where the alert allows (a single non-GSM character makes every part
 * shorter). The ACK instruction is never cut; the link gives way before the title, the fix first.
 */
function smsText(n: OutgoingNotification): string {
	const { alert } = n;
	const head = `[OpsWatch ${alert.severity.toUpperCase()}] `;
	const tail = ` Reply ACK ${n.ackCode} to acknowledge.`;
	const room = SMS_MAX - head.length - tail.length;
	const title = clip(plainText(alert.title), room, "...");
	const link = title.length + 1 + alert.url.length <= room ? ` ${alert.url}` : "";
	const fixRoom = room - title.length - link.length - 3;
	const fix = alert.solution && fixRoom >= 20 ? ` - ${clip(plainText(alert.solution), fixRoom, "...")}` : "";
	return `${head}${title}${fix}${link}${tail}`;
}

/**
 * The `client-ref` an SMS carries: the idempotency key, or when longer than Vonage keeps, a prefix
 * of it and a hash of the whole, so two long keys never share a reference.
 */
export function vonageClientRef(key: string): string {
	if (key.length <= CLIENT_REF_MAX) return key;
	const hash = createHash("sha256").update(key).digest("hex").slice(0, 16);
	return `${key.slice(0, CLIENT_REF_MAX - hash.length - 1)}~${hash}`;
}

/**
 * Verifies the JWT Vonage puts in `Authorization: Bearer` on Voice API and Messages API webhooks:
 * HS256 only (any other `alg`, `none` included, fails), signed with the account's signature secret,
 * issued at most 5 minutes ago, and when the raw body is given, its `payload_hash` claim must be the
 * SHA-256 (hex) of that body. Our NCCO asks for POST webhooks, so the body is what was signed.
 * Accepts the token with or without its `Bearer ` prefix.
 */
export function verifyVonageSignedJwt(
	token: string | undefined,
	signatureSecret: string,
	rawBody?: string,
	now: Date = systemClock.now(),
): boolean {
	if (!token || !signatureSecret) return false;
	const parts = token
		.replace(/^Bearer\s+/i, "")
		.trim()
		.split(".");
	if (parts.length !== 3) return false;
	const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
	const header = parseJsonObject(headerPart);
	if (header?.alg !== "HS256") return false;
	const expected = createHmac("sha256", signatureSecret).update(`${headerPart}.${claimsPart}`).digest();
	if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) return false;
	const given = Buffer.from(signaturePart, "base64url");
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
	const claims = parseJsonObject(claimsPart);
	if (!claims || typeof claims.iat !== "number") return false;
	const nowSeconds = now.getTime() / 1000;
	if (claims.iat < nowSeconds - WEBHOOK_MAX_AGE_SECONDS || claims.iat > nowSeconds + WEBHOOK_MAX_SKEW_SECONDS)
		return false;
	if (typeof claims.exp === "number" && claims.exp <= nowSeconds) return false;
	if (rawBody !== undefined) {
		if (typeof claims.payload_hash !== "string") return false;
		const hash = Buffer.from(createHash("sha256").update(rawBody).digest("hex"));
		const claimed = Buffer.from(claims.payload_hash.toLowerCase());
		if (claimed.length !== hash.length || !timingSafeEqual(claimed, hash)) return false;
	}
	return true;
}

/**
 * Verifies the `sig` parameter of a signed inbound SMS (or delivery receipt). The signed string is
 * every parameter but `sig`, sorted by name, as `&name=value` with `&` and `=` in values replaced
 * by `_`. `md5hash` is the MD5 of that string with the secret appended; `sha256` is HMAC-SHA256 of it
 * keyed by the secret. Hex case is ignored (Vonage sends HMACs in upper case). The `timestamp`
 * parameter (Unix seconds) must be within 5 minutes of now, so a captured request cannot be replayed later.
 */
export function verifyVonageSmsSignature(
	params: Record<string, string>,
	signatureSecret: string,
	method: "md5hash" | "sha256",
	now: Date = systemClock.now(),
): boolean {
	const sig = params.sig;
	if (!sig || !signatureSecret) return false;
	const timestamp = Number(params.timestamp);
	if (!params.timestamp || !Number.isFinite(timestamp)) return false;
	if (Math.abs(now.getTime() / 1000 - timestamp) > WEBHOOK_MAX_AGE_SECONDS) return false;
	const signed = Object.keys(params)
		.filter((name) => name !== "sig")
		.sort()
		.map((name) => `&${name}=${String(params[name]).replace(/[&=]/g, "_")}`)
		.join("");
	const expected =
		method === "md5hash"
			? createHash("md5")
					.update(signed + signatureSecret)
					.digest("hex")
			: createHmac("sha256", signatureSecret).update(signed).digest("hex");
	const given = Buffer.from(sig.toLowerCase());
	const wanted = Buffer.from(expected);
	return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** E.164 as Vonage wants it: digits only, no `+`. */
function vonageNumber(e164: string): string {
	return e164.replace(/[^\d]/g, "");
}

/** An SMS sender: a number in Vonage's format, or an alphanumeric sender id as given. */
function smsSender(from: string): string {
	return /^\+?[\d\s().-]+$/.test(from) ? vonageNumber(from) : from;
}

/** ISO 8601 without milliseconds, as the Voice API's date filters expect. */
function vonageDate(at: Date): string {
	return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Markdown to one line of plain text, for speech and SMS. */
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

function clip(text: string, max: number, ellipsis = "…"): string {
	if (text.length <= max) return text;
	return `${text.slice(0, Math.max(0, max - ellipsis.length)).trimEnd()}${ellipsis}`;
}

function sentence(text: string): string {
	return /[.!?…]$/.test(text) ? text : `${text}.`;
}

/** The `title` of an RFC 7807 problem (Voice API errors), or of an SMS API error. */
function problemTitle(body: string): string {
	try {
		const parsed = JSON.parse(body) as { title?: unknown; "error-text"?: unknown };
		const title = parsed.title ?? parsed["error-text"];
		return typeof title === "string" ? title : "";
	} catch {
		return "";
	}
}

/** Provider text may echo a number or a credential: keep neither in an error message. */
function redact(text: string, secrets: string[]): string {
	let out = text.replace(/\+?\d[\d\s-]{4,}\d/g, "[number]");
	for (const secret of secrets) out = out.split(secret).join("[redacted]");
	return out;
}

function parseJsonObject(part: string): Record<string, unknown> | undefined {
	try {
		const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
		return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
	} catch {
		return undefined;
	}
}

function base64url(text: string): string {
	return Buffer.from(text).toString("base64url");
}

/** The GSM 03.38 default alphabet and its extension table: what an SMS carries without `unicode`. */
const GSM7 = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~\]|€]*$/;

function isGsm7(text: string): boolean {
	return GSM7.test(text);
}
