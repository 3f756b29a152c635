import { describe, expect, it } from "vitest";
import { labelMap, labelText, MAX_LABEL_BYTES } from "./types.ts";

const messages = (value: unknown) => labelText.safeParse(value).error?.issues.map((i) => i.message) ?? [];

describe("label text", () => {
	it("accepts text up to the limit in UTF-8 bytes", () => {
		expect(messages("x".repeat(MAX_LABEL_BYTES))).toEqual([]);
		// 2,730 × 3 bytes = 8,190: long in UTF-16 units terms, still within the limit.
		expect(messages("€".repeat(2730))).toEqual([]);
	});

	it("refuses text over the limit, counting bytes rather than characters", () => {
		expect(messages("x".repeat(MAX_LABEL_BYTES + 1))).toEqual([`must be at most ${MAX_LABEL_BYTES} bytes`]);
		// 2,731 characters, 8,193 bytes.
		expect(messages("€".repeat(2731))).toEqual([`must be at most ${MAX_LABEL_BYTES} bytes`]);
		// Emoji are two UTF-16 units and four bytes.
		expect(messages("🔥".repeat(2049))).toEqual([`must be at most ${MAX_LABEL_BYTES} bytes`]);
	});

	it("refuses NUL bytes, in values and in keys, naming where", () => {
		expect(messages("a\u0000b")).toEqual(["must not contain NUL bytes"]);
		const result = labelMap.safeParse({ host: "db-1", "bad\u0000key": "x" });
		expect(result.success).toBe(false);
		expect(result.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
			{ path: ["bad\u0000key"], message: "must not contain NUL bytes" },
		]);
	});

	it("refuses what is not a string", () => {
		expect(labelText.safeParse(42).success).toBe(false);
		expect(labelMap.safeParse({ host: 1 }).error?.issues).toMatchObject([
			{ path: ["host"], message: "Invalid input: expected string, received number" },
		]);
		for (const [input, received] of [
			[["a", "b"], "array"],
			[null, "null"],
			["a=b", "string"],
		] as const) {
			expect(labelMap.safeParse(input).error?.issues).toMatchObject([
				{ path: [], message: `Invalid input: expected record, received ${received}` },
			]);
		}
	});

	it("passes a valid map on as it came", () => {
		const labels = { alertname: "HighRequestLatency", instance: "a:8080" };
		expect(labelMap.parse(labels)).toBe(labels);
	});
});
