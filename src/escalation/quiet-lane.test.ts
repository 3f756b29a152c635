import { describe, expect, it } from "vitest";
import { createQuietLane } from "./quiet-lane.ts";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe("quiet lane", () => {
	it("runs tasks one at a time, in order, each only once the worker is quiet", async () => {
		const ran: string[] = [];
		let busy = true;
		let looks = 0;
		const lane = createQuietLane({
			async quiet() {
				looks++;
				while (busy) await tick();
			},
			onError: () => {},
		});
		let running = 0;
		const task = (name: string) => async () => {
			expect(++running).toBe(1);
			await tick();
			ran.push(name);
			running--;
		};
		lane.push(task("timeline"), "timeline");
		lane.push(task("follow-up"), "follow-up");
		await tick(30);
		expect(ran).toEqual([]);

		busy = false;
		await lane.idle();
		expect(ran).toEqual(["timeline", "follow-up"]);
		expect(looks).toBe(2);
	});

	it("runs a task that waited its longest even when the worker never goes quiet", async () => {
		const ran: string[] = [];
		const lane = createQuietLane({ quiet: () => new Promise(() => {}), onError: () => {}, maxWaitMs: 40 });
		lane.push(async () => void ran.push("timeline"), "timeline");
		await tick(10);
		expect(ran).toEqual([]);
		await lane.idle();
		expect(ran).toEqual(["timeline"]);
	});

	it("tells a stopping worker whether the lane emptied within its time", async () => {
		const lane = createQuietLane({ quiet: async () => {}, onError: () => {} });
		lane.push(async () => void (await tick(10)), "quick");
		expect(await lane.drained(1000)).toBe(true);
		lane.push(() => new Promise<void>(() => {}), "stuck: Slack never answers");
		expect(await lane.drained(30)).toBe(false);
	});

	it("reports a failing task with its context and goes on; a task pushed as the lane empties still runs", async () => {
		const errors: string[] = [];
		const ran: string[] = [];
		const lane = createQuietLane({
			quiet: async () => {},
			onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`),
		});
		lane.push(async () => {
			throw new Error("database unavailable");
		}, "escalation timeline");
		lane.push(async () => {
			ran.push("second");
			// Pushed while the last waiting task runs: the drain that is ending must not strand it.
			queueMicrotask(() => lane.push(async () => void ran.push("third"), "late"));
		}, "follow-up");
		await lane.idle();
		await tick();
		await lane.idle();
		expect(errors).toEqual(["escalation timeline: database unavailable"]);
		expect(ran).toEqual(["second", "third"]);
	});
});
