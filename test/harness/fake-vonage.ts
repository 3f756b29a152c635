import { createHash, createHmac, createVerify, type KeyObject, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A request the fake received, as it arrived. */
export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	body: string;
	/** The body as JSON, or as a form when it was one. */
	json: unknown;
	form: URLSearchParams | undefined;
}

/** A call the fake placed, in the shape `GET /v1/calls` lists it. */
export interface FakeCall {
	uuid: string;
	to: { type: "phone"; number: string };
	from: { type: "phone"; number: string };
	direction: "outbound" | "inbound";
	status: string;
	start_time: string;
	ncco: unknown;
	event_url: unknown;
}

/** An SMS the fake accepted. */
export interface FakeSms {
	messageId: string;
	from: string;
	to: string;
	text: string;
	type: string | undefined;
	clientRef: string | undefined;
}

/**
 * A fake Vonage (Voice API + SMS API) on a local port: checks the RS256 application JWT against
 * the public key and the SMS credentials, records every request, and can be told to fail.
 */
export async function startFakeVonage(options: { publicKey?: KeyObject; apiKey?: string; apiSecret?: string } = {}) {
	const requests: RecordedRequest[] = [];
	const calls: FakeCall[] = [];
	const sms: FakeSms[] = [];
	/** Injected answers, consumed first-in first-out by requests whose path starts with `path`. */
	const injected: { path: string; status: number; body: unknown }[] = [];
	const smsStatuses: { status: string; errorText: string }[] = [];
	let now = () => new Date();

	const send = (res: http.ServerResponse, status: number, body: unknown) => {
		res.writeHead(status, { "content-type": "application/json" });
		res.end(body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body));
	};

	const jwtValid = (authorization: string | undefined): boolean => {
		if (!options.publicKey) return true;
		const token = authorization?.replace(/^Bearer /, "");
		const [header, claims, signature] = token?.split(".") ?? [];
		if (!header || !claims || !signature) return false;
		return createVerify("RSA-SHA256")
			.update(`${header}.${claims}`)
			.verify(options.publicKey, Buffer.from(signature, "base64url"));
	};

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const url = new URL(req.url ?? "/", "http://fake");
			const body = Buffer.concat(chunks).toString("utf8");
			const isForm = (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
			let json: unknown;
			try {
				json = body && !isForm ? JSON.parse(body) : undefined;
			} catch {
				json = undefined;
			}
			const form = isForm ? new URLSearchParams(body) : undefined;
			requests.push({
				method: req.method ?? "GET",
				path: url.pathname,
				query: url.searchParams,
				headers: req.headers,
				body,
				json,
				form,
			});

			const i = injected.findIndex((x) => url.pathname.startsWith(x.path));
			if (i >= 0) {
				const [answer] = injected.splice(i, 1);
				if (answer) return send(res, answer.status, answer.body);
			}

			if (url.pathname === "/v1/calls" && req.method === "POST") {
				if (!jwtValid(req.headers.authorization)) return send(res, 401, { title: "Unauthorized" });
				const b = json as { to: { number: string }[]; from: { number: string }; ncco: unknown; event_url: unknown };
				const call: FakeCall = {
					uuid: randomUUID(),
					to: { type: "phone", number: b.to[0]?.number ?? "" },
					from: { type: "phone", number: b.from.number },
					direction: "outbound",
					status: "started",
					start_time: now().toISOString(),
					ncco: b.ncco,
					event_url: b.event_url,
				};
				calls.push(call);
				return send(res, 201, {
					uuid: call.uuid,
					status: "started",
					direction: "outbound",
					conversation_uuid: `CON-${randomUUID()}`,
				});
			}

			if (url.pathname === "/v1/calls" && req.method === "GET") {
				if (!jwtValid(req.headers.authorization)) return send(res, 401, { title: "Unauthorized" });
				const start = url.searchParams.get("date_start");
				const end = url.searchParams.get("date_end");
				const pageSize = Number(url.searchParams.get("page_size") ?? 10);
				const index = Number(url.searchParams.get("record_index") ?? 0);
				const matching = calls.filter(
					(c) =>
						(!start || c.start_time >= new Date(start).toISOString()) &&
						(!end || c.start_time <= new Date(end).toISOString()),
				);
				const page = matching.slice(index, index + pageSize).map(({ ncco: _n, event_url: _e, ...rest }) => rest);
				return send(res, 200, {
					count: matching.length,
					page_size: pageSize,
					record_index: index,
					_embedded: { calls: page },
				});
			}

			if (url.pathname === "/sms/json" && req.method === "POST") {
				const p = form ?? new URLSearchParams((json ?? {}) as Record<string, string>);
				if (options.apiKey && (p.get("api_key") !== options.apiKey || p.get("api_secret") !== options.apiSecret)) {
					return send(res, 200, { "message-count": "1", messages: [{ status: "4", "error-text": "Bad Credentials" }] });
				}
				const scripted = smsStatuses.shift();
				if (scripted && scripted.status !== "0") {
					return send(res, 200, {
						"message-count": "1",
						messages: [{ status: scripted.status, "error-text": scripted.errorText }],
					});
				}
				const message: FakeSms = {
					messageId: randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase(),
					from: p.get("from") ?? "",
					to: p.get("to") ?? "",
					text: p.get("text") ?? "",
					type: p.get("type") ?? undefined,
					clientRef: p.get("client-ref") ?? undefined,
				};
				sms.push(message);
				return send(res, 200, {
					"message-count": "1",
					messages: [
						{
							to: message.to,
							"message-id": message.messageId,
							status: "0",
							"remaining-balance": "10.00",
							"message-price": "0.03",
							network: "23410",
							"client-ref": message.clientRef,
						},
					],
				});
			}

			send(res, 404, { title: "Not Found" });
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;

	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		calls,
		sms,
		/** Answers the next request under `path` with `status` and `body` instead of handling it. */
		failNext(path: string, status: number, body: unknown = { title: "Injected failure" }) {
			injected.push({ path, status, body });
		},
		/** Makes the next SMS answer HTTP 200 with this SMS API status (e.g. "1" throttled). */
		nextSmsStatus(status: string, errorText = "Injected") {
			smsStatuses.push({ status, errorText });
		},
		/** Sets the clock the fake stamps calls with. */
		setClock(clock: () => Date) {
			now = clock;
		},
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

export type FakeVonage = Awaited<ReturnType<typeof startFakeVonage>>;

/**
 * Signs a webhook the way Vonage does for Voice and Messages callbacks: an HS256 JWT with the
 * account's signature secret, carrying `payload_hash` (SHA-256 hex of the body).
 */
export function signVonageWebhook(
	signatureSecret: string,
	body: string,
	claims: Record<string, unknown> = {},
	header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
): string {
	const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
	const payload = {
		iat: Math.floor(Date.now() / 1000),
		jti: randomUUID(),
		iss: "Vonage",
		payload_hash: createHash("sha256").update(body).digest("hex"),
		api_key: "abcd1234",
		application_id: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
		...claims,
	};
	const signingInput = `${enc(header)}.${enc(payload)}`;
	const signature = createHmac("sha256", signatureSecret).update(signingInput).digest("base64url");
	return `${signingInput}.${signature}`;
}

/**
 * Signs inbound-SMS parameters the way Vonage does (`sig`): `md5hash` or HMAC-SHA256 (upper-case hex).
 * Written independently of the code under test, from Vonage's SDKs' description of the scheme.
 */
export function signVonageSms(
	params: Record<string, string>,
	signatureSecret: string,
	method: "md5hash" | "sha256",
): Record<string, string> {
	let signed = "";
	for (const key of Object.keys(params).sort())
		signed += `&${key}=${params[key]?.replaceAll("&", "_").replaceAll("=", "_")}`;
	const sig =
		method === "md5hash"
			? createHash("md5").update(`${signed}${signatureSecret}`).digest("hex")
			: createHmac("sha256", signatureSecret).update(signed).digest("hex").toUpperCase();
	return { ...params, sig };
}
