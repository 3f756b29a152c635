import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "./errors.ts";
import { useJsonBodyParser } from "./json-body.ts";

const app = Fastify();
const kept: string[] = [];
beforeAll(async () => {
	useJsonBodyParser(app, (_request, text) => kept.push(text));
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
	it("accepts surrogate pairs, written as escapes or as UTF-8, and an escaped backslash before 'ud800'", async () => {
		const text = '{"a": "\\ud83d\\ude00 😀", "b": "\\\\ud800"}';
		const response = await post(text);
		expect(response.statusCode).toBe(200);
		expect(response.json()).toEqual({ got: { a: "😀 😀", b: "\\ud800" } });
		expect(kept.at(-1)).toBe(text);
	});

	it("refuses half a surrogate pair in a value or a key, naming where", async () => {
		const inValue = await post('{"alerts": [{"labels": {"host": "db-\\udc00"}}]}');
		expect(inValue.statusCode).toBe(400);
		expect(inValue.json().fields).toEqual([
			{ path: "body.alerts.0.labels.host", message: "is not valid Unicode: it holds half a UTF-16 surrogate pair" },
		]);
		const inKey = await post('{"labels": {"k\\ud800": "v"}}');
		expect(inKey.json().fields[0].path).toBe("body.labels.k\ufffd");
	});

	it("keeps Fastify's own errors for JSON that does not parse", async () => {
		const response = await post('{"a": ');
		expect(response.statusCode).toBe(400);
		expect(response.json().message).toMatch(/not valid JSON/);
	});
});
