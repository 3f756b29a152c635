/**
 * A local fake of the parts of Twilio's REST API OpsWatch uses, shaped as these docs describe:
 * - Calls: https://www.twilio.com/docs/voice/api/call-resource (create, list with `To`, `StartTime>`)
 * - Messages: https://www.twilio.com/docs/messaging/api/message-resource (create, list with `To`, `DateSent>`)
 * - Errors: https://www.twilio.com/docs/usage/twilios-response (`{ code, message, more_info, status }`)
 * - Auth: https://www.twilio.com/docs/usage/requests-to-twilio (HTTP Basic, AccountSid:AuthToken)
 * - Webhooks it sends back, signed: https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * - `<Gather>`: https://www.twilio.com/docs/voice/twiml/gather (Digits posted to `action`)
 * It records what it was asked to send, plays the phone's part (a keypress, an SMS reply) against
 * OpsWatch's webhooks, and can be told to fail.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { twilioSignature } from "../../src/escalation/twilio.ts";

/** A call OpsWatch asked for. */
export interface RecordedCall {
	sid: string;
	to: string;
	from: string;
	twiml: string;
	statusCallback: string | undefined;
	dateCreated: Date;
}

/** An SMS OpsWatch asked for. */
export interface RecordedMessage {
	sid: string;
	to: string;
	from: string;
	body: string;
	statusCallback: string | undefined;
	dateCreated: Date;
}

/** What OpsWatch answered to a webhook the fake sent. */
export interface WebhookResponse {
	status: number;
	body: string;
}

/** One phone number, as a test sees it. */
export interface FakeDevice {
	sms(): RecordedMessage[];
	calls(): RecordedCall[];
	/**
	 * Waits for an SMS to this number whose body matches, and returns it. Each message is returned
	 * once: a second `expectSMS` with the same pattern waits for the next one (a repeat page).
	 */
	expectSMS(pattern: RegExp, timeoutMs?: number): Promise<RecordedMessage>;
	/** Waits for a call to this number not returned by an earlier `expectCall`, and returns it. */
	expectCall(timeoutMs?: number): Promise<RecordedCall>;
}

export interface FakeTwilio {
	/** Base URL, to configure as OpsWatch's Twilio API URL. */
	url: string;
	accountSid: string;
	authToken: string;
	calls: RecordedCall[];
	messages: RecordedMessage[];
	/** The next `count` creates (call or SMS) fail with `status` and a Twilio-shaped JSON error. */
	failNext(count: number, status: number): void;
	/** The next `count` creates hang `delayMs`, then fail having created nothing. */
	stallNext(count: number, delayMs: number): void;
	device(phone: string): FakeDevice;
	/** Presses `digits` on a recorded call: posts to its `<Gather action>` as Twilio would, signed. */
	pressKey(callSid: string, digits: string): Promise<WebhookResponse>;
	/** The person replies by SMS: posts Twilio's inbound-message webhook, signed. */
	replySMS(reply: { from: string; to: string; body: string; webhookUrl: string }): Promise<WebhookResponse>;
	/** Posts form `params` to `url` signed with the auth token, or with `signature` as given. */
	signedPost(url: string, params: Record<string, string>, options?: { signature?: string }): Promise<WebhookResponse>;
	close(): Promise<void>;
}

const POLL_MS = 20;

/**
 * Starts the fake on 127.0.0.1 and a free port. `now` dates what it records (default the real
 * clock); pass the test clock's when OpsWatch's clock is controlled, so reconciliation windows agree.
 */
export async function startFakeTwilio(options: {
	accountSid: string;
	authToken: string;
	now?: () => Date;
}): Promise<FakeTwilio> {
	const { accountSid, authToken } = options;
	const now = options.now ?? (() => new Date());
	const calls: RecordedCall[] = [];
	const messages: RecordedMessage[] = [];
	const failures: number[] = [];
	/** Creates that hang this long and then fail without creating anything (a client times out first). */
	const stalls: number[] = [];
	const devices = new Map<string, FakeDevice>();
	const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
	const base = `/2010-04-01/Accounts/${accountSid}`;

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (chunk: Buffer) => chunks.push(chunk));
		req.on("end", () => {
			const answer = (status: number, body: unknown) => {
				res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
			};
			const url = new URL(req.url ?? "/", "http://127.0.0.1");
			if (req.headers.authorization !== expected) return answer(401, twilioError(401, 20003, "Authenticate"));
			const route = /^\/2010-04-01\/Accounts\/([^/]+)\/(Calls|Messages)\.json$/.exec(url.pathname);
			if (!route || route[1] !== accountSid) {
				return answer(404, twilioError(404, 20404, `The requested resource ${url.pathname} was not found`));
			}
			const resource = route[2] as "Calls" | "Messages";
			if (req.method === "GET") {
				return answer(200, resource === "Calls" ? listCalls(url.searchParams) : listMessages(url.searchParams));
			}
			if (req.method !== "POST") return answer(405, twilioError(405, 20004, "Method not allowed"));
			const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
			const to = form.get("To") ?? "";
			const stall = stalls.shift();
			if (stall !== undefined) {
				setTimeout(() => answer(503, twilioError(503, 20503, "Service unavailable")), stall);
				return;
			}
			const failing = failures[0];
			if (failing !== undefined) {
				failures.shift();
				return answer(failing, failureBody(failing, to));
			}
			const invalid = validate(resource, form);
			if (invalid) return answer(400, invalid);
			const common = {
				to,
				from: form.get("From") ?? "",
				statusCallback: form.get("StatusCallback") ?? undefined,
				dateCreated: now(),
			};
			if (resource === "Calls") {
				const call = { sid: sid("CA"), twiml: form.get("Twiml") ?? "", ...common };
				calls.push(call);
				return answer(201, callJson(call));
			}
			const message = { sid: sid("SM"), body: form.get("Body") ?? "", ...common };
			messages.push(message);
			return answer(201, messageJson(message));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	const url = `http://127.0.0.1:${port}`;

	const resourceUri = (kind: string, s: string) => `${base}/${kind}/${s}.json`;
	const callJson = (c: RecordedCall) => ({
		sid: c.sid,
		account_sid: accountSid,
		api_version: "2010-04-01",
		to: c.to,
		to_formatted: c.to,
		from: c.from,
		from_formatted: c.from,
		status: "queued",
		direction: "outbound-api",
		date_created: rfc2822(c.dateCreated),
		date_updated: rfc2822(c.dateCreated),
		start_time: rfc2822(c.dateCreated),
		end_time: null,
		duration: null,
		price: null,
		price_unit: "USD",
		uri: resourceUri("Calls", c.sid),
	});
	const messageJson = (m: RecordedMessage) => ({
		sid: m.sid,
		account_sid: accountSid,
		api_version: "2010-04-01",
		to: m.to,
		from: m.from,
		body: m.body,
		status: "queued",
		direction: "outbound-api",
		num_segments: String(Math.max(1, Math.ceil(m.body.length / 153))),
		num_media: "0",
		date_created: rfc2822(m.dateCreated),
		date_updated: rfc2822(m.dateCreated),
		date_sent: rfc2822(m.dateCreated),
		error_code: null,
		error_message: null,
		messaging_service_sid: null,
		price: null,
		price_unit: "USD",
		uri: resourceUri("Messages", m.sid),
	});
	const page = (key: "calls" | "messages", kind: string, items: unknown[], query: URLSearchParams) => ({
		[key]: items,
		uri: `${base}/${kind}.json?${query}`,
		first_page_uri: `${base}/${kind}.json?${query}`,
		next_page_uri: null,
		previous_page_uri: null,
		page: 0,
		page_size: Number(query.get("PageSize") ?? 50),
		start: 0,
		end: Math.max(0, items.length - 1),
	});
	// Twilio lists newest first; these fakes send at once, so sent and start times are the create time.
	const listCalls = (query: URLSearchParams) =>
		page(
			"calls",
			"Calls",
			calls
				.filter((c) => matches(query, c.to, "StartTime", c.dateCreated))
				.reverse()
				.map(callJson),
			query,
		);
	const listMessages = (query: URLSearchParams) =>
		page(
			"messages",
			"Messages",
			messages
				.filter((m) => matches(query, m.to, "DateSent", m.dateCreated))
				.reverse()
				.map(messageJson),
			query,
		);

	const post = async (target: string, params: Record<string, string>, signature: string) => {
		const response = await fetch(target, {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
			body: new URLSearchParams(params).toString(),
			signal: AbortSignal.timeout(10_000),
		});
		return { status: response.status, body: await response.text() };
	};
	const signedPost: FakeTwilio["signedPost"] = (target, params, postOptions = {}) =>
		post(target, params, postOptions.signature ?? twilioSignature(authToken, target, params));

	return {
		url,
		accountSid,
		authToken,
		calls,
		messages,
		failNext(count, status) {
			for (let i = 0; i < count; i++) failures.push(status);
		},
		stallNext(count, delayMs) {
			for (let i = 0; i < count; i++) stalls.push(delayMs);
		},
		device(phone) {
			// One device per number, so what an earlier expect consumed stays consumed.
			const existing = devices.get(phone);
			if (existing) return existing;
			const seenSms = new Set<string>();
			const seenCalls = new Set<string>();
			const sms = () => messages.filter((m) => m.to === phone);
			const phoneCalls = () => calls.filter((c) => c.to === phone);
			const device: FakeDevice = {
				sms,
				calls: phoneCalls,
				expectSMS: (pattern, timeoutMs = 5000) =>
					waitFor(
						() => sms().find((m) => !seenSms.has(m.sid) && pattern.test(m.body)),
						seenSms,
						timeoutMs,
						() =>
							`no SMS to ${phone} matching ${pattern} within ${timeoutMs} ms; ${phone} got: ${JSON.stringify(sms().map((m) => m.body))}`,
					),
				expectCall: (timeoutMs = 5000) =>
					waitFor(
						() => phoneCalls().find((c) => !seenCalls.has(c.sid)),
						seenCalls,
						timeoutMs,
						() => `no new call to ${phone} within ${timeoutMs} ms (${phoneCalls().length} earlier)`,
					),
			};
			devices.set(phone, device);
			return device;
		},
		async pressKey(callSid, digits) {
			const call = calls.find((c) => c.sid === callSid);
			if (!call) throw new Error(`fake Twilio: no call ${callSid}`);
			const action = /<Gather\b[^>]*\baction="([^"]*)"/.exec(call.twiml)?.[1];
			if (action === undefined) throw new Error(`fake Twilio: call ${callSid} has no <Gather action>: ${call.twiml}`);
			const params = {
				CallSid: call.sid,
				AccountSid: accountSid,
				From: call.from,
				To: call.to,
				Digits: digits,
				CallStatus: "in-progress",
			};
			return signedPost(unescapeXml(action), params);
		},
		replySMS(reply) {
			const params = {
				MessageSid: sid("SM"),
				AccountSid: accountSid,
				From: reply.from,
				To: reply.to,
				Body: reply.body,
			};
			return signedPost(reply.webhookUrl, params);
		},
		signedPost,
		async close() {
			// fetch keeps connections alive; without dropping them close() would wait for their timeout.
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** Polls until `find` returns something not yet seen, marks it seen and returns it. */
async function waitFor<T extends { sid: string }>(
	find: () => T | undefined,
	seen: Set<string>,
	timeoutMs: number,
	describe: () => string,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = find();
		if (found) {
			seen.add(found.sid);
			return found;
		}
		if (Date.now() >= deadline) throw new Error(`fake Twilio: ${describe()}`);
		await new Promise((resolve) => setTimeout(resolve, POLL_MS));
	}
}

/** Whether an item passes `To` and `{field}`, `{field}>`, `{field}<` (Twilio's `DateSent>=YYYY-MM-DD` arrives as `DateSent>`). */
function matches(query: URLSearchParams, to: string, field: string, at: Date): boolean {
	const wanted = query.get("To");
	if (wanted !== null && wanted !== to) return false;
	const day = at.toISOString().slice(0, 10);
	const exact = query.get(field);
	if (exact !== null && exact.slice(0, 10) !== day) return false;
	const after = query.get(`${field}>`);
	if (after !== null && at.getTime() < bound(after, "start")) return false;
	const before = query.get(`${field}<`);
	if (before !== null && at.getTime() > bound(before, "end")) return false;
	return true;
}

/** A date filter's instant: a bare day is inclusive (its start, or its end). */
function bound(value: string, edge: "start" | "end"): number {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(value);
	const start = Date.parse(`${value}T00:00:00Z`);
	return edge === "start" ? start : start + 86_400_000 - 1;
}

function validate(resource: "Calls" | "Messages", form: URLSearchParams) {
	const to = form.get("To");
	if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
	if (!/^\+[1-9]\d{1,14}$/.test(to))
		return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
	if (!form.get("From")) return twilioError(400, 21603, "A 'From' phone number is required.");
	if (resource === "Messages" && !form.get("Body")) return twilioError(400, 21602, "Message body is required.");
	if (resource === "Messages" && (form.get("Body") ?? "").length > 1600) {
		return twilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
	}
	if (resource === "Calls" && !form.get("Twiml") && !form.get("Url")) {
		return twilioError(400, 21205, "Url parameter is required.");
	}
	if (resource === "Calls" && (form.get("Twiml") ?? "").length > 4000) {
		return twilioError(400, 21232, "Twiml parameter is too long.");
	}
	return undefined;
}

/** What Twilio says for these statuses; its 400s quote the number, which OpsWatch must not repeat. */
function failureBody(status: number, to: string) {
	switch (status) {
		case 400:
			return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
		case 401:
			return twilioError(401, 20003, "Authenticate");
		case 429:
			return twilioError(429, 20429, "Too Many Requests");
		case 503:
			return twilioError(503, 20503, "Service Unavailable");
		default:
			return twilioError(status, status >= 500 ? 20500 : 20001, status >= 500 ? "Internal Server Error" : "Error");
	}
}

const twilioError = (status: number, code: number, message: string) => ({
	code,
	message,
	more_info: `https://www.twilio.com/docs/errors/${code}`,
	status,
});

const sid = (prefix: "CA" | "SM") => prefix + randomBytes(16).toString("hex");

/** Twilio's dates: "Wed, 18 Aug 2021 20:01:17 +0000". */
const rfc2822 = (date: Date) => date.toUTCString().replace(/GMT$/, "+0000");

const unescapeXml = (text: string) =>
	text.replace(
		/&(amp|lt|gt|quot|apos);/g,
		(_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name] ?? "",
	);
