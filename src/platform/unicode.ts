/** With the `u` flag a surrogate pair is one code point: only a lone surrogate is `Cs`. */
const loneSurrogate = /\p{Cs}/u;
/** JSON text can only carry a surrogate as an escape, `\ud800` to `\udfff` (UTF-8 has none). */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * Where the value parsed from JSON `text` holds a key or string that is not valid Unicode: half a
 * UTF-16 surrogate pair, which JSON lets a sender escape (`\ud800`) and PostgreSQL refuses in json
 * and jsonb. Returns the path to the first one (a key named with U+FFFD in place of its lone
 * surrogates), or undefined. Walks the value only when the text has surrogate escapes at all.
 */
export function illFormedStringAt(text: string, value: unknown): string[] | undefined {
	// `includes` first: nearly every body has no escape at all, and it finds that faster than the pattern.
	return text.includes("\\u") && surrogateEscape.test(text) ? walk(value, []) : undefined;
}

function walk(value: unknown, path: string[]): string[] | undefined {
	if (typeof value === "string") return loneSurrogate.test(value) ? path : undefined;
	if (typeof value !== "object" || value === null) return undefined;
	for (const [key, item] of Object.entries(value)) {
		const at = [...path, key.replace(/\p{Cs}/gu, "\ufffd")];
		if (loneSurrogate.test(key)) return at;
		const found = walk(item, at);
		if (found) return found;
	}
	return undefined;
}
