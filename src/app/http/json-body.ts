import type { FastifyBodyParser, FastifyError, FastifyInstance } from "fastify";
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
			if ((error as FastifyError | null)?.code === "FST_ERR_CTP_INVALID_JSON_BODY")
				return done(malformed(text), undefined);
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

/**
 * Fastify answers any unparseable body with the same sentence; a sender fixing a hand-written
 * payload needs to know where it breaks. JSON.parse (run again, only on this failing path) knows,
 * but some of its messages quote the body, which may hold a credential, so only the reason and the
 * place are kept.
 */
function malformed(text: string): AppError {
	let reason = "it does not parse";
	try {
		JSON.parse(text);
	} catch (error) {
		reason = syntaxReason(text, (error as Error).message);
	}
	return new AppError("validation", "request.malformed_json", `The body is not valid JSON: ${reason}`);
}

/** "Unexpected string in JSON at position 5" → "unexpected string at line 1, column 6". */
export function syntaxReason(text: string, message: string): string {
	if (message === "Unexpected end of JSON input") return "it ends before the JSON value is complete";
	// `Unexpected token 'x', "…body…" is not valid JSON`: keep the token, drop the quoted body.
	const quoted = /^(Unexpected token .+?), (?:\.\.\.)?".*$/s.exec(message);
	if (quoted) return lowerFirst(quoted[1] ?? message);
	const located = /^(.*?)(?: in JSON)? at position (\d+)/s.exec(message);
	if (!located) return lowerFirst(message.replace(/".*"/s, "").trim());
	const position = Number(located[2]);
	const before = text.slice(0, position);
	const line = before.split("\n").length;
	const column = position - before.lastIndexOf("\n");
	return `${lowerFirst(located[1] ?? "")} at line ${line}, column ${column}`;
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
