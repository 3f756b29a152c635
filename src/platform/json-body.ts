import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError } from "./errors.ts";

/** With the `u` flag a surrogate pair is one code point: only a lone surrogate is `Cs`. */
const loneSurrogate = /\p{Cs}/u;
/** JSON text can only carry a surrogate as an escape, `\ud800` to `\udfff` (UTF-8 has none). */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/** The path to the first key or string in `value` that holds a lone surrogate, if any. */
function illFormedAt(value: unknown, path: string[]): string[] | undefined {
	if (typeof value === "string") return loneSurrogate.test(value) ? path : undefined;
	if (typeof value !== "object" || value === null) return undefined;
	for (const [key, item] of Object.entries(value)) {
		// The key is named with its lone surrogates shown as U+FFFD, so the answer is valid Unicode itself.
		const at = [...path, key.replace(/\p{Cs}/gu, "\ufffd")];
		if (loneSurrogate.test(key)) return at;
		const found = illFormedAt(item, at);
		if (found) return found;
	}
	return undefined;
}

/**
 * Fastify's JSON body parser (its errors, its prototype-poisoning checks) that also refuses a body
 * whose strings are not valid Unicode: JSON lets a sender escape half a surrogate pair (`\ud800`),
 * which PostgreSQL refuses in json and jsonb, so such a body would fail deep in a write instead of
 * being answered with a 400 naming the field. The walk runs only for a body with surrogate escapes
 * at all (rare: most senders write UTF-8). `keep` sees each body's text, for routes that store it.
 */
export function useJsonBodyParser(app: FastifyInstance, keep?: (request: FastifyRequest, text: string) => void): void {
	const parse = app.getDefaultJsonParser("error", "error");
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
		const text = body as string;
		keep?.(request, text);
		parse(request, text, (error, value) => {
			if (error) return done(error, undefined);
			const path = surrogateEscape.test(text) ? illFormedAt(value, ["body"]) : undefined;
			if (!path) return done(null, value);
			const field = { path: path.join("."), message: "is not valid Unicode: it holds half a UTF-16 surrogate pair" };
			const problem = new AppError(
				"validation",
				"request.invalid",
				`Invalid request: ${field.path}: ${field.message}`,
				{
					fields: [field],
				},
			);
			done(problem, undefined);
		});
	});
}
