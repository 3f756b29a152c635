import { describe, expect, it } from "vitest";
import { type AlertUpdated, createRepeatAnnouncer } from "./repeat-announcer.ts";

function announcer(options?: { intervalMs?: number; alerts?: number }) {
	const published: AlertUpdated[][] = [];
	const pick = createRepeatAnnouncer(options);
	const announce = (results: Parameters<typeof pick>[0], atMs: number) => {
		const events = pick(results, atMs);
		if (events) published.push(events);
	};
	return { announce, published, ids: () => published.flat().map((event) => event.alertId) };
}

const repeat = (alertId: string) => ({ fingerprint: `fp-${alertId}`, alertId, outcome: "deduplicated" });

describe("repeat announcer", () => {
	it("announces a repeated alert once per interval, however often it repeats", () => {
		const { announce, published, ids } = announcer({ intervalMs: 1000 });
		announce([repeat("a")], 10_000);
		announce([repeat("a")], 10_500);
		announce([repeat("a"), repeat("a")], 10_999);
		expect(ids()).toEqual(["a"]);
		expect(published[0]).toEqual([{ type: "alert.updated", alertId: "a", fingerprint: "fp-a", change: "repeated" }]);
		announce([repeat("a")], 11_000);
		expect(ids()).toEqual(["a", "a"]);
	});

	it("announces each alert on its own schedule, a request's in one publication", () => {
		const { announce, published } = announcer();
		announce([repeat("a")], 0);
		announce([repeat("a"), repeat("b"), repeat("c")], 100);
		expect(published.map((events) => events.map((event) => event.alertId))).toEqual([["a"], ["b", "c"]]);
	});

	it("announces nothing for alerts that were created, resolved or ignored", () => {
		const { announce, published } = announcer();
		announce(
			[
				{ fingerprint: "x", alertId: "x", outcome: "created" },
				{ fingerprint: "y", alertId: "y", outcome: "resolved" },
				{ fingerprint: "z", alertId: null, outcome: "ignored" },
			],
			0,
		);
		expect(published).toEqual([]);
	});

	it("forgets the least recently announced alert beyond its bound, announcing it again", () => {
		const { announce, ids } = announcer({ alerts: 2 });
		announce([repeat("a"), repeat("b"), repeat("c")], 0);
		announce([repeat("a"), repeat("c")], 10);
		expect(ids()).toEqual(["a", "b", "c", "a"]);
	});
});
