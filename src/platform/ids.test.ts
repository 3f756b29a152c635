import { describe, expect, it } from "vitest";
import { timeOrderedId } from "./ids.ts";

describe("timeOrderedId", () => {
	it("is a version 7 UUID that starts with its millisecond", () => {
		const at = new Date("2026-11-27T09:00:00.123Z");
		const id = timeOrderedId(at);
		expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(at.getTime());
	});

	it("sorts by time, and ids of the same millisecond differ", () => {
		const earlier = timeOrderedId(new Date("2026-11-27T09:00:00.000Z"));
		const later = timeOrderedId(new Date("2026-11-27T09:00:00.001Z"));
		expect(earlier < later).toBe(true);
		const same = new Date("2026-11-27T09:00:00.000Z");
		expect(new Set(Array.from({ length: 100 }, () => timeOrderedId(same))).size).toBe(100);
	});
});
