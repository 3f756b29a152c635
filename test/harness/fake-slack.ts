// biome-ignore-all lint/suspicious/noExplicitAny: modal views are read freely by tests
/**
 * A local fake of the Slack Web API, enough for OpsWatch's pages and bot: `conversations.open`,
 * `chat.postMessage`, `chat.update`, `conversations.history`, `views.open`, `users.info` and
 * `oauth.v2.access`. It records what was posted so a
 * test can wait for it (`await slack.expectMessage({ to: "U0ANN", text: /disk full/ })`), and can
 * fail the next requests the ways Slack does.
 *
 * What `@slack/web-api` 8.2.0 sends: `POST <slackApiUrl><method>` with
 * `Authorization: Bearer <token>` and `Content-Type: application/x-www-form-urlencoded`; every
 * argument is a form field, booleans and numbers as text (`include_all_metadata=true`,
 * `limit=100`), and nested values JSON-encoded (`blocks=[…]`, `metadata={…}`). So the fake parses
 * those fields back; it also takes JSON bodies, which Slack accepts for write methods.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A message as the fake holds it: the last state after any `chat.update`. */
export interface FakeSlackMessage {
	channel: string;
	text: string | undefined;
	blocks: unknown[] | undefined;
	metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
	ts: string;
	threadTs: string | undefined;
}

/** One API call as it arrived, with its arguments decoded. */
export interface FakeSlackRequest {
	method: string;
	contentType: string;
	params: Record<string, unknown>;
}

/** How {@link FakeSlack.failNext} fails a request. */
export interface FakeSlackFailure {
	/** HTTP status: 429 answers with `Retry-After`, anything else with that status and an `{ ok: false }` body. */
	status?: number;
	/** A Slack error code answered as HTTP 200 `{ ok: false, error }` (or as the body's `error` with `status`). */
	error?: string;
	/** Seconds in the `Retry-After` header of a 429. Default 1. */
	retryAfter?: number;
	/** Wait this long before answering, to make a client time out; alone, the request then succeeds late. */
	delayMs?: number;
}

/** What {@link FakeSlack.expectMessage} waits for. */
export type MessageMatcher =
	| ((message: FakeSlackMessage) => boolean)
	| { /** A user id (their DM) or a channel id. */ to: string; text?: RegExp };

/** A running fake Slack Web API. */
export interface FakeSlack {
	/** Base URL for `WebClient`'s `slackApiUrl`, ending in `/api/`. */
	url: string;
	/**
	 * A base URL of its own for one client (a worker process), ending in `/api/`: the same workspace,
	 * but that client's answers can be withheld apart from the others' ({@link holdAnswers}).
	 */
	urlFor(client: string): string;
	/**
	 * From now on, `client`'s posts (`chat.postMessage`) are carried out (messages are recorded) but
	 * their answers are withheld: the client sent a page and never heard back, as when it dies
	 * mid-call. Its other calls (a DM's `conversations.open`, say) are answered, so it gets as far
	 * as posting.
	 */
	holdAnswers(client: string): void;
	/** `chat.postMessage` calls from `client` that succeeded while its answers were withheld (also after release). */
	unansweredPosts(client: string): number;
	/** Drops `client`'s withheld answers (closing their connections) and answers it normally again. */
	releaseAnswers(client: string): void;
	/** Every posted message, oldest first. */
	messages: FakeSlackMessage[];
	/** Every API call, oldest first, including failed ones. */
	requests: FakeSlackRequest[];
	/** What was posted to response URLs (`<url>response/<id>`), oldest first. */
	responses: { path: string; body: Record<string, unknown> }[];
	/** A response URL of this fake, as Slack hands one with an interaction. */
	responseUrl(id: string): string;
	/** The DM channel id `conversations.open` gives for a user. */
	dmChannelOf(userId: string): string;
	/** Messages in a user's DM, oldest first. */
	dmsTo(userId: string): FakeSlackMessage[];
	/** Messages in a channel (or DM channel id), oldest first. */
	postsIn(channelId: string): FakeSlackMessage[];
	/** Waits until a matching message was posted, polling every 20 ms; throws a readable error on timeout. */
	expectMessage(match: MessageMatcher, timeoutMs?: number): Promise<FakeSlackMessage>;
	/** Modals opened with `views.open`, oldest first. */
	views: { triggerId: string; view: Record<string, any> }[];
	/** Gives a user a profile e-mail address (`users.info`); users without one are `user_not_found`. */
	setUserEmail(userId: string, email: string): void;
	/** Accepts another bot token (a second workspace). */
	addToken(token: string): void;
	/** Lets `oauth.v2.access` exchange `code` (once) for this workspace's bot token, for this app. */
	grantCode(
		code: string,
		grant: {
			clientId: string;
			clientSecret: string;
			teamId: string;
			teamName: string;
			botToken: string;
			botUserId: string;
			channelId?: string;
		},
	): void;
	/** Fails the next `count` requests, whatever their method; with no status or error, HTTP 500. */
	failNext(count: number, failure?: FakeSlackFailure): void;
	close(): Promise<void>;
}

// Fields the SDK sends JSON-encoded inside a form body.
const jsonFields = new Set(["blocks", "attachments", "metadata", "view"]);
const channelId = /^[CDG][A-Z0-9]+$/;

/** Starts the fake on 127.0.0.1 at a free port; only requests carrying `token` are accepted. */
export async function startFakeSlack(options: { token: string }): Promise<FakeSlack> {
	const messages: FakeSlackMessage[] = [];
	const tokens = new Set([options.token]);
	const views: FakeSlack["views"] = [];
	const emails = new Map<string, string>();
	const grants = new Map<string, Parameters<FakeSlack["grantCode"]>[1]>();
	const requests: FakeSlackRequest[] = [];
	const failures: FakeSlackFailure[] = [];
	let lastTs = 0;

	const dmChannelOf = (userId: string) => `D${userId.replace(/^[UW]/, "").toUpperCase()}`;

	// Slack's ts is "<seconds>.<microseconds>", unique within a channel and increasing; the fake
	// keeps it increasing across the whole workspace, which is stricter.
	const nextTs = () => {
		lastTs = Math.max(Date.now() * 1000, lastTs + 1);
		return `${Math.floor(lastTs / 1e6)}.${String(lastTs % 1e6).padStart(6, "0")}`;
	};

	const toMessage = (m: FakeSlackMessage, withMetadata: boolean) => ({
		type: "message",
		bot_id: "B0FAKESLACK",
		text: m.text ?? "",
		...(m.blocks ? { blocks: m.blocks } : {}),
		...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
		...(m.threadTs ? { thread_ts: m.threadTs } : {}),
		ts: m.ts,
	});

	const methods: Record<string, (p: Record<string, unknown>) => Record<string, unknown>> = {
		"conversations.open": (p) => {
			const users = typeof p.users === "string" ? p.users.split(",").filter(Boolean) : [];
			if (users.length === 0) return { ok: false, error: "users_list_not_supplied" };
			if (users.length > 1) return { ok: false, error: "fake_slack_supports_one_user_dms_only" };
			return { ok: true, channel: { id: dmChannelOf(users[0]!) } };
		},
		"chat.postMessage": (p) => {
			const channel = String(p.channel ?? "");
			if (!channelId.test(channel)) return { ok: false, error: "channel_not_found" };
			if (!p.text && !p.blocks) return { ok: false, error: "no_text" };
			const message: FakeSlackMessage = {
				channel,
				text: optionalString(p.text),
				blocks: p.blocks as unknown[] | undefined,
				metadata: p.metadata as FakeSlackMessage["metadata"],
				ts: nextTs(),
				threadTs: optionalString(p.thread_ts),
			};
			messages.push(message);
			return { ok: true, channel, ts: message.ts, message: toMessage(message, true) };
		},
		"chat.update": (p) => {
			const message = messages.find((m) => m.channel === p.channel && m.ts === p.ts);
			if (!message) return { ok: false, error: "message_not_found" };
			if (p.text !== undefined) message.text = optionalString(p.text);
			if (p.blocks !== undefined) message.blocks = p.blocks as unknown[];
			if (p.metadata !== undefined) message.metadata = p.metadata as FakeSlackMessage["metadata"];
			return {
				ok: true,
				channel: message.channel,
				ts: message.ts,
				text: message.text,
				message: toMessage(message, true),
			};
		},
		"views.open": (p) => {
			if (typeof p.trigger_id !== "string" || !p.trigger_id) return { ok: false, error: "invalid_trigger_id" };
			const view = p.view as Record<string, any> | undefined;
			if (view?.type !== "modal" || !Array.isArray(view.blocks)) return { ok: false, error: "invalid_arguments" };
			views.push({ triggerId: p.trigger_id, view });
			return { ok: true, view: { id: `V${views.length}`, ...view } };
		},
		"users.info": (p) => {
			const email = emails.get(String(p.user ?? ""));
			if (!email) return { ok: false, error: "user_not_found" };
			return { ok: true, user: { id: p.user, profile: { email } } };
		},
		"conversations.history": (p) => {
			const channel = String(p.channel ?? "");
			if (!channelId.test(channel)) return { ok: false, error: "channel_not_found" };
			const inclusive = p.inclusive === true;
			const oldest = Number(p.oldest ?? 0);
			const latest = p.latest === undefined ? Number.POSITIVE_INFINITY : Number(p.latest);
			// Thread replies are not in a channel's history, only their parents.
			const found = messages
				.filter((m) => m.channel === channel && (!m.threadTs || m.threadTs === m.ts))
				.filter((m) => {
					const ts = Number(m.ts);
					return (inclusive ? ts >= oldest : ts > oldest) && (inclusive ? ts <= latest : ts < latest);
				})
				.reverse();
			const limit = Math.min(Math.max(Number(p.limit ?? 100) || 100, 1), 999);
			const start = Number(p.cursor ?? 0) || 0;
			const page = found.slice(start, start + limit);
			const hasMore = start + limit < found.length;
			return {
				ok: true,
				messages: page.map((m) => toMessage(m, p.include_all_metadata === true)),
				has_more: hasMore,
				response_metadata: { next_cursor: hasMore ? String(start + limit) : "" },
			};
		},
	};

	const responses: { path: string; body: Record<string, unknown> }[] = [];

	function exchange(p: Record<string, unknown>): Record<string, unknown> {
		const grant = grants.get(String(p.code ?? ""));
		if (!grant) return { ok: false, error: "invalid_code" };
		if (p.client_id !== grant.clientId) return { ok: false, error: "invalid_client_id" };
		if (p.client_secret !== grant.clientSecret) return { ok: false, error: "bad_client_secret" };
		grants.delete(String(p.code));
		tokens.add(grant.botToken);
		return {
			ok: true,
			access_token: grant.botToken,
			token_type: "bot",
			scope: "chat:write,commands",
			bot_user_id: grant.botUserId,
			app_id: "A0FAKE",
			team: { id: grant.teamId, name: grant.teamName },
			...(grant.channelId && { incoming_webhook: { channel_id: grant.channelId, channel: "#alerts" } }),
		};
	}

	/** Clients whose answers are or were withheld: the withheld responses, and how many were successful posts. */
	const holds = new Map<string, { holding: boolean; responses: http.ServerResponse[]; posts: number }>();

	const server = http.createServer(async (req, res) => {
		// `/<client>/api/<method>` for a client with a URL of its own, `/api/<method>` otherwise.
		const path = new URL(req.url ?? "/", "http://fake-slack").pathname;
		const apiAt = path.indexOf("/api/");
		const client = apiAt > 0 ? decodeURIComponent(path.slice(1, apiAt)) : "";
		const method = apiAt >= 0 ? path.slice(apiAt + "/api/".length) : "";
		const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
			const hold = holds.get(client);
			if (hold?.holding && method === "chat.postMessage") {
				if ((body as { ok?: unknown }).ok === true) hold.posts++;
				hold.responses.push(res);
				return;
			}
			res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
			res.end(JSON.stringify(body));
		};
		// A `response_url` Slack hands an interaction: what is posted there is recorded.
		if (req.url?.startsWith("/response/")) {
			const text = await readBody(req);
			responses.push({ path: req.url, body: text ? JSON.parse(text) : {} });
			res.writeHead(200, { "content-type": "text/plain" }).end("ok");
			return;
		}
		try {
			const url = new URL(req.url ?? "/", "http://fake-slack");
			const contentType = req.headers["content-type"] ?? "";
			const params = { ...decode(url.searchParams), ...parseBody(contentType, await readBody(req)) };
			requests.push({ method, contentType, params });

			const failure = failures.shift();
			if (failure?.delayMs) await new Promise((resolve) => setTimeout(resolve, failure.delayMs));
			if (failure && (failure.status !== undefined || failure.error !== undefined)) {
				if (failure.status === 429) {
					return answer(
						429,
						{ ok: false, error: failure.error ?? "ratelimited" },
						{
							"retry-after": String(failure.retryAfter ?? 1),
						},
					);
				}
				if (failure.status !== undefined) {
					return answer(failure.status, { ok: false, error: failure.error ?? "internal_error" });
				}
				return answer(200, { ok: false, error: failure.error });
			}

			// The code exchange authenticates the app (client id and secret), not a bot.
			if (method === "oauth.v2.access") return answer(200, exchange(params));
			const auth = req.headers.authorization;
			if (!auth) return answer(200, { ok: false, error: "not_authed" });
			if (!tokens.has(auth.replace(/^Bearer /, ""))) return answer(200, { ok: false, error: "invalid_auth" });
			const handle = methods[method];
			if (!handle) return answer(200, { ok: false, error: "unknown_method" });
			return answer(200, handle(params));
		} catch (error) {
			return answer(400, { ok: false, error: "invalid_request", detail: String(error) });
		}
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;

	const postsIn = (channel: string) => messages.filter((m) => m.channel === channel);
	const describe = (match: MessageMatcher) =>
		typeof match === "function"
			? "matching the predicate"
			: `to ${match.to}${match.text ? ` matching ${match.text}` : ""}`;

	return {
		url: `http://127.0.0.1:${port}/api/`,
		urlFor: (client) => `http://127.0.0.1:${port}/${encodeURIComponent(client)}/api/`,
		holdAnswers(client) {
			const hold = holds.get(client);
			if (hold) hold.holding = true;
			else holds.set(client, { holding: true, responses: [], posts: 0 });
		},
		unansweredPosts: (client) => holds.get(client)?.posts ?? 0,
		releaseAnswers(client) {
			const hold = holds.get(client);
			if (!hold) return;
			hold.holding = false;
			for (const res of hold.responses.splice(0)) res.destroy();
		},
		messages,
		requests,
		responses,
		responseUrl: (id) => `http://127.0.0.1:${port}/response/${id}`,
		views,
		setUserEmail: (userId, email) => void emails.set(userId, email),
		addToken: (token) => void tokens.add(token),
		grantCode: (code, grant) => void grants.set(code, grant),
		dmChannelOf,
		dmsTo: (userId) => postsIn(dmChannelOf(userId)),
		postsIn,
		async expectMessage(match, timeoutMs = 5000) {
			const test =
				typeof match === "function"
					? match
					: (m: FakeSlackMessage) =>
							(m.channel === match.to || m.channel === dmChannelOf(match.to)) &&
							(!match.text || match.text.test(m.text ?? ""));
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const found = messages.find(test);
				if (found) return found;
				if (Date.now() >= deadline) {
					const seen = messages.map((m) => `  ${m.channel}: ${JSON.stringify(m.text)}`).join("\n") || "  (none)";
					throw new Error(`fake Slack: no message ${describe(match)} within ${timeoutMs} ms; posted:\n${seen}`);
				}
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		},
		failNext(count, failure = {}) {
			const effective =
				failure.status === undefined && failure.error === undefined && !failure.delayMs ? { status: 500 } : failure;
			for (let i = 0; i < count; i++) failures.push(effective);
		},
		async close() {
			// The SDK's fetch keeps connections alive; without this, close() waits for them to idle out.
			server.closeAllConnections();
			await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
		},
	};
}

function readBody(req: http.IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on("data", (chunk: Buffer) => chunks.push(chunk));
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
	});
}

function parseBody(contentType: string, body: string): Record<string, unknown> {
	if (!body) return {};
	if (contentType.startsWith("application/json")) return JSON.parse(body) as Record<string, unknown>;
	if (contentType.startsWith("application/x-www-form-urlencoded")) return decode(new URLSearchParams(body));
	throw new Error(`fake Slack: unsupported content type ${JSON.stringify(contentType)}`);
}

// Form values are all text; turn back what the SDK encoded so handlers see the caller's values.
function decode(form: URLSearchParams): Record<string, unknown> {
	const params: Record<string, unknown> = {};
	for (const [key, value] of form) {
		if (jsonFields.has(key)) params[key] = JSON.parse(value);
		else if (value === "true" || value === "false") params[key] = value === "true";
		else params[key] = value;
	}
	return params;
}

function optionalString(value: unknown): string | undefined {
	return value === undefined || value === null ? undefined : String(value);
}
