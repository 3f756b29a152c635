import { describe, expect, it } from "vitest";
import { illFormedStringAt } from "./unicode.ts";

const check = (text: string) => illFormedStringAt(text, JSON.parse(text));

describe("illFormedStringAt", () => {
	it("finds half a surrogate pair in a value or a key, by path", () => {
		expect(check('{"alerts": [{"labels": {"host": "db-\\udc00"}}]}')).toEqual(["alerts", "0", "labels", "host"]);
		expect(check('{"labels": {"k\\ud800": "v"}}')).toEqual(["labels", "k\ufffd"]);
		expect(check('["ok", "\\ud800"]')).toEqual(["1"]);
	});

	it("accepts surrogate pairs, as escapes or as UTF-8, and an escaped backslash before 'ud800'", () => {
		expect(check('{"a": "\\ud83d\\ude00 😀", "b": "\\\\ud800", "n": 1, "z": null}')).toBeUndefined();
	});

	it("does not walk a value whose text has no surrogate escape", () => {
		// The value is not what the text says: proof that only the text was looked at.
		expect(illFormedStringAt('{"a": "b"}', { a: "\ud800" })).toBeUndefined();
	});
});
