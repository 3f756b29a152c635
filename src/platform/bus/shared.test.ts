import { describe, expect, it } from "vitest";
import { decodeMessages, encodeMessage, encodeMessages } from "./shared.ts";

const at = new Date("2026-11-27T12:00:00.000Z");

describe("bus wire format", () => {
	it("sends a batch's topic and instant once and reads it back as one message per payload", () => {
		const raw = encodeMessages("alerts.acme", [{ n: 1 }, { n: 2 }], at);
		expect(raw.match(/alerts\.acme/g)).toHaveLength(1);
		expect(decodeMessages(raw)).toEqual([
			{ topic: "alerts.acme", payload: { n: 1 }, publishedAt: "2026-11-27T12:00:00.000Z" },
			{ topic: "alerts.acme", payload: { n: 2 }, publishedAt: "2026-11-27T12:00:00.000Z" },
		]);
	});

	it("still reads a single message, and the array batches of earlier versions (a rolling upgrade)", () => {
		const single = { topic: "alerts.acme", payload: { n: 1 }, publishedAt: at.toISOString() };
		expect(decodeMessages(encodeMessage("alerts.acme", { n: 1 }, at))).toEqual([single]);
		expect(decodeMessages(JSON.stringify([single, { ...single, payload: { n: 2 } }]))).toEqual([
			single,
			{ ...single, payload: { n: 2 } },
		]);
	});

	it("ignores what is not one of ours", () => {
		expect(decodeMessages('{"hello":"world"}')).toBeUndefined();
		expect(decodeMessages('[{"topic":"x"}]')).toBeUndefined();
	});
});
