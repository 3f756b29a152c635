import type { FastifyBodyParser, FastifyInstance } from "fastify";
import { AppError } from "../../platform/errors.ts";
import { illFormedStringAt } from "../../platform/unicode.ts";

/**
 * Fastify's JSON body parser (its errors, its prototype-poisoning checks) that also refuses a body
 * whose strings are not valid Unicode, naming the field: such a body would otherwise fail deep in
 * a write (PostgreSQL refuses half a surrogate pair in json and jsonb) and answer 500.
 */
export function jsonBodyParser(app: FastifyInstance): FastifyBodyParser<string> {
	const parse = app.getDefaultJsonParser("error", "error");
	return (request, text, done) =>
		parse(request, text, (error, value) => {
			if (error) return done(error, undefined);
			const at = illFormedStringAt(text, value);
			if (!at) return done(null, value);
			const field = {
				path: ["body", ...at].join("."),
				message: "is not valid Unicode: it holds half a UTF-16 surrogate pair",
			};
			done(
				new AppError("validation", "request.invalid", `Invalid request: ${field.path}: ${field.message}`, {
					fields: [field],
				}),
				undefined,
			);
		});
}
