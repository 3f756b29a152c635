import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../platform/errors.ts";
import { jsonBodyParser, syntaxReason } from "./json-body.ts";

const app = Fastify();
beforeAll(async () => {
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "string" }, jsonBodyParser(app));
	app.post("/", async (request) => ({ got: request.body }));
	app.setErrorHandler((error, _request, reply) => {
		const fields = error instanceof AppError ? error.fields : undefined;
		return reply.status(400).send({ message: (error as Error).message, fields });
	});
	await app.ready();
});
afterAll(() => app.close());

const post = (payload: string) =>
	app.inject({ method: "POST", url: "/", headers: { "content-type": "application/json" }, payload });

describe("JSON body parser", () => {
	it("passes valid Unicode through, surrogate pairs included", async () => {
		const response = await post('{"a": "\\ud83d\\ude00"}');
		expect(response.statusCode).toBe(200);
		expect(response.json()).toEqual({ got: { a: "😀" } });
	});

	it("refuses half a surrogate pair, naming the field under body", async () => {
		const response = await post('{"alerts": [{"labels": {"host": "db-\\udc00"}}]}');
		expect(response.statusCode).toBe(400);
		expect(response.json().fields).toEqual([
			{ path: "body.alerts.0.labels.host", message: "is not valid Unicode: it holds half a UTF-16 surrogate pair" },
		]);
	});

	it("says where JSON that does not parse breaks", async () => {
		const response = await post('{\n  "routing_key": "R0UT1NGKEY",\n  "event_action" "trigger"\n}');
		expect(response.statusCode).toBe(400);
		expect(response.json().message).toBe("The body is not valid JSON: unexpected string at line 3, column 18");
	});

	it("says a body that stops short ends too soon", async () => {
		const response = await post('{"a": ');
		expect(response.json().message).toBe("The body is not valid JSON: it ends before the JSON value is complete");
	});

	it("names an unexpected token without quoting the body, which may hold a credential", async () => {
		const response = await post('{"routing_key": "R0UT1NGKEY", "payload": tru}');
		expect(response.statusCode).toBe(400);
		expect(response.json().message).toMatch(/^The body is not valid JSON: unexpected token '}'/);
		expect(response.json().message).not.toContain("R0UT1NGKEY");
	});
});

describe("syntaxReason", () => {
	it("turns V8's position into a line and column", () => {
		expect(syntaxReason('{"a":1}x', "Unexpected non-whitespace character after JSON at position 7")).toBe(
			"unexpected non-whitespace character after JSON at line 1, column 8",
		);
		expect(syntaxReason('[\n"a\tb"]', "Bad control character in string literal in JSON at position 4")).toBe(
			"bad control character in string literal at line 2, column 3",
		);
	});
});
