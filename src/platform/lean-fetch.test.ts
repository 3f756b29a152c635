import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leanFetch, leanFetchWithin } from "./lean-fetch.ts";

let server: http.Server;
let base: string;

beforeAll(async () => {
	server = http.createServer((req, res) => {
		let body = "";
		req.on("data", (chunk) => {
			body += chunk;
		});
		req.on("end", () => {
			if (req.url === "/slow") return void setTimeout(() => res.end("late"), 500);
			if (req.url === "/empty") return void res.writeHead(204).end();
			res.writeHead(req.url === "/limited" ? 429 : 200, { "content-type": "application/json", "retry-after": "3" });
			res.end(JSON.stringify({ method: req.method, contentType: req.headers["content-type"] ?? null, body }));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
});

describe("leanFetch", () => {
	it("posts a form body and answers with status, headers and body, as a fetch Response reads", async () => {
		const response = await leanFetch(`${base}/api/chat.postMessage`, {
			method: "POST",
			headers: { authorization: "Bearer xoxb-1" },
			body: new URLSearchParams({ channel: "C1", text: "hello world" }),
		});
		expect([response.status, response.ok, response.url]).toEqual([200, true, `${base}/api/chat.postMessage`]);
		expect(response.headers.get("Content-Type")).toBe("application/json");
		expect(response.headers.get("x-missing")).toBeNull();
		expect(Object.fromEntries(response.headers.entries())).toMatchObject({
			"content-type": "application/json",
			"retry-after": "3",
		});
		expect(await response.json()).toEqual({
			method: "POST",
			contentType: "application/x-www-form-urlencoded;charset=UTF-8",
			body: "channel=C1&text=hello+world",
		});
		const limited = await leanFetch(`${base}/limited`);
		expect([limited.status, limited.ok, limited.headers.get("Retry-After")]).toEqual([429, false, "3"]);
		const text = await limited.text();
		expect(JSON.parse(text)).toMatchObject({ method: "GET", body: "" });
		expect(Buffer.from(await limited.arrayBuffer()).toString()).toBe(text);
		expect((await leanFetch(`${base}/empty`)).status).toBe(204);
	});

	it("sends a string body with the caller's headers, whatever their case", async () => {
		const response = await leanFetch(`${base}/hook`, {
			method: "POST",
			headers: { "Content-Type": "application/json", Authorization: "Bearer t" },
			body: JSON.stringify({ text: "é" }),
		});
		expect(await response.json()).toEqual({
			method: "POST",
			contentType: "application/json",
			body: JSON.stringify({ text: "é" }),
		});
	});

	it("fails like fetch: the abort reason on timeout, a TypeError caused by the network error otherwise", async () => {
		await expect(leanFetch(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
			name: "TimeoutError",
		});
		// The same deadline without a signal, as the Slack SDK's client gets it.
		await expect(leanFetchWithin(50)(`${base}/slow`)).rejects.toMatchObject({ name: "TimeoutError" });
		expect(await (await leanFetchWithin(2000)(`${base}/slow`)).text()).toBe("late");
		await expect(leanFetch(`${base}/upload`, { method: "POST", body: new FormData() })).rejects.toThrow(
			"string and form bodies only",
		);
		const refused = await leanFetch("http://127.0.0.1:1/").catch((error: unknown) => error);
		expect(refused).toBeInstanceOf(TypeError);
		expect((refused as TypeError & { cause: { code: string } }).cause.code).toBe("ECONNREFUSED");
	});
});
