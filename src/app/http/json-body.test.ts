import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../platform/errors.ts";
import { jsonBodyParser } from "./json-body.ts";

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

	it("keeps Fastify's own errors for JSON that does not parse", async () => {
		const response = await post('{"a": ');
		expect(response.statusCode).toBe(400);
		expect(response.json().message).toMatch(/not valid JSON/);
	});
});
