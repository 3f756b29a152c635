import { context, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { inSpan, inSyncSpan } from "./tracing.ts";

describe("inSpan without an OTLP endpoint", () => {
	it("runs the work with a span that records nothing, leaving the active context alone", async () => {
		const before = context.active();
		const result = await inSpan("alert.ingest", { alerts: 1 }, async (span) => {
			span.setAttribute("ignored", true);
			expect(context.active()).toBe(before);
			return span.isRecording();
		});
		expect(result).toBe(false);
		expect(trace.getActiveSpan()).toBeUndefined();
	});

	it("passes the work's failure on", async () => {
		await expect(
			inSpan("alert.persist", {}, async () => {
				throw new Error("database down");
			}),
		).rejects.toThrow("database down");
	});
});

describe("inSyncSpan without an OTLP endpoint", () => {
	it("returns the work's value at once, and throws its failure", () => {
		expect(inSyncSpan("webhook.parse", {}, (span) => (span.isRecording() ? "recorded" : "parsed"))).toBe("parsed");
		expect(() =>
			inSyncSpan("webhook.parse", {}, () => {
				throw new Error("bad payload");
			}),
		).toThrow("bad payload");
	});
});
