import http from "node:http";
import https from "node:https";

/**
 * A `fetch` for API clients that accept one (the Slack SDK): plain node:http(s) requests over
 * keep-alive agents, answered with the part of a `Response` such clients read (the SDK declares it as
 * its `FetchResponse`). It does what those clients use — method, headers, a string or form body, an
 * abort signal — and costs a fraction of the CPU of undici's full fetch, which dominated a worker's
 * profile in an alert storm (bench:escalation); building undici's `Headers` and `Response` alone was a
 * fifth of a Slack call. Failures look like fetch's: the abort reason, or a TypeError with the network
 * error as its cause.
 */
const agents = {
	"http:": new http.Agent({ keepAlive: true, maxSockets: 64 }),
	"https:": new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

export interface LeanRequestInit {
	method?: string;
	headers?: Record<string, string>;
	/** FormData (file uploads) is refused: nothing of ours uploads files. */
	body?: string | URLSearchParams | FormData | null;
	signal?: AbortSignal | null;
	/**
	 * Fails the request after this long, as `AbortSignal.timeout` would, with a plain timer: a signal
	 * per request cost a tenth of a Slack call's CPU.
	 */
	timeoutMs?: number;
	/** Accepted for fetch's signature; redirects are never followed (the answer is returned as is). */
	redirect?: "error" | "follow" | "manual";
}

/** A response's headers, read case-insensitively as `Headers` reads them. */
export class LeanHeaders {
	readonly #raw: http.IncomingHttpHeaders;

	constructor(raw: http.IncomingHttpHeaders) {
		this.#raw = raw;
	}

	get(name: string): string | null {
		const value = this.#raw[name.toLowerCase()];
		if (value === undefined) return null;
		return Array.isArray(value) ? value.join(", ") : value;
	}

	has(name: string): boolean {
		return this.#raw[name.toLowerCase()] !== undefined;
	}

	*entries(): IterableIterator<[string, string]> {
		for (const name of Object.keys(this.#raw).sort()) {
			const value = this.get(name);
			if (value !== null) yield [name, value];
		}
	}

	[Symbol.iterator](): IterableIterator<[string, string]> {
		return this.entries();
	}
}

/** The answer: status, headers and the whole body, already read. */
export class LeanResponse {
	readonly ok: boolean;
	readonly status: number;
	readonly statusText: string;
	readonly url: string;
	readonly headers: LeanHeaders;
	readonly #body: Buffer;

	constructor(url: string, response: http.IncomingMessage, body: Buffer) {
		this.status = response.statusCode ?? 0;
		this.ok = this.status >= 200 && this.status < 300;
		this.statusText = response.statusMessage ?? "";
		this.url = url;
		this.headers = new LeanHeaders(response.headers);
		this.#body = body;
	}

	async text(): Promise<string> {
		return this.#body.toString("utf8");
	}

	async json(): Promise<unknown> {
		return JSON.parse(this.#body.toString("utf8"));
	}

	async arrayBuffer(): Promise<ArrayBuffer> {
		return new Uint8Array(this.#body).buffer;
	}
}

/** leanFetch with a deadline on every request, for a client told to set none itself (the Slack SDK's `timeout: 0`). */
export function leanFetchWithin(timeoutMs: number) {
	return (input: string | URL, init: LeanRequestInit = {}): Promise<LeanResponse> =>
		leanFetch(input, { ...init, timeoutMs });
}

export function leanFetch(input: string | URL, init: LeanRequestInit = {}): Promise<LeanResponse> {
	const url = new URL(input);
	const agent = agents[url.protocol as keyof typeof agents];
	if (!agent) return Promise.reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
	const { body, signal } = init;
	if (body instanceof FormData) return Promise.reject(new TypeError("leanFetch sends string and form bodies only"));
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
	if (body instanceof URLSearchParams) headers["content-type"] ??= "application/x-www-form-urlencoded;charset=UTF-8";
	const payload = body === undefined || body === null ? undefined : String(body);
	if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
	if (signal?.aborted) return Promise.reject(signal.reason);

	return new Promise<LeanResponse>((resolve, reject) => {
		/** Settles once, whichever way the request ends, and drops the deadline and the abort listener. */
		let settled = false;
		const settle = (outcome: () => void) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			signal?.removeEventListener("abort", abort);
			outcome();
		};
		const fail = (error: unknown) => settle(() => reject(error));
		const timer =
			init.timeoutMs === undefined
				? undefined
				: setTimeout(() => {
						fail(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
						request.destroy();
					}, init.timeoutMs);
		const request = (url.protocol === "https:" ? https : http).request(
			url,
			{ method: init.method ?? "GET", headers, agent },
			(response) => {
				const chunks: Buffer[] = [];
				response.on("data", (chunk: Buffer) => chunks.push(chunk));
				response.on("error", (error) => fail(new TypeError("fetch failed", { cause: error })));
				response.on("end", () => settle(() => resolve(new LeanResponse(url.href, response, Buffer.concat(chunks)))));
			},
		);
		const abort = () => {
			fail(signal?.reason);
			request.destroy();
		};
		signal?.addEventListener("abort", abort, { once: true });
		request.on("error", (error) => fail(new TypeError("fetch failed", { cause: error })));
		request.end(payload);
	});
}
