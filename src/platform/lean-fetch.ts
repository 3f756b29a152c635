import http from "node:http";
import https from "node:https";

/**
 * A `fetch` for API clients that accept one (the Slack SDK): plain node:http(s) requests over
 * keep-alive agents, answered with a `Response`. It does what those clients use — method, headers,
 * a string or form body, an abort signal — and costs a fraction of the CPU of undici's full fetch,
 * which dominated a worker's profile in an alert storm (bench:escalation). Failures look like fetch's:
 * the abort reason, or a TypeError with the network error as its cause.
 */
const agents = {
	"http:": new http.Agent({ keepAlive: true, maxSockets: 64 }),
	"https:": new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

const bodyless = new Set([101, 204, 205, 304]);

export async function leanFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
	const url = new URL(input instanceof Request ? input.url : input);
	const agent = agents[url.protocol as keyof typeof agents];
	if (!agent) throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
	const body = init.body;
	if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof URLSearchParams)) {
		throw new TypeError("leanFetch sends string and form bodies only");
	}
	const payload = body === undefined || body === null ? undefined : String(body);
	const headers = new Headers(init.headers);
	if (body instanceof URLSearchParams && !headers.has("content-type")) {
		headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
	}
	if (payload !== undefined) headers.set("content-length", String(Buffer.byteLength(payload)));
	const signal = init.signal ?? undefined;
	signal?.throwIfAborted();

	return new Promise<Response>((resolve, reject) => {
		const request = (url.protocol === "https:" ? https : http).request(
			url,
			{ method: init.method ?? "GET", headers: Object.fromEntries(headers), agent },
			(response) => {
				const chunks: Buffer[] = [];
				response.on("data", (chunk: Buffer) => chunks.push(chunk));
				response.on("error", (error) => reject(new TypeError("fetch failed", { cause: error })));
				response.on("end", () => {
					signal?.removeEventListener("abort", abort);
					const status = response.statusCode ?? 0;
					const responseHeaders = new Headers();
					for (const [name, value] of Object.entries(response.headers)) {
						if (value === undefined) continue;
						for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
					}
					resolve(
						new Response(bodyless.has(status) ? null : Buffer.concat(chunks), {
							status,
							statusText: response.statusMessage,
							headers: responseHeaders,
						}),
					);
				});
			},
		);
		const abort = () => {
			request.destroy();
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", abort, { once: true });
		request.on("error", (error) => {
			signal?.removeEventListener("abort", abort);
			if (!signal?.aborted) reject(new TypeError("fetch failed", { cause: error }));
		});
		request.end(payload);
	});
}
