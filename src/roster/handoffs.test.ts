import { describe, expect, it } from "vitest";
import { handoffsBetween } from "./handoffs.ts";
import type { Layer, RosterSpec } from "./types.ts";

const daily: Layer = {
	id: "l1",
	name: "Daily",
	position: 1,
	participants: ["alice", "bob"],
	shiftLength: { unit: "days", count: 1 },
	handoffTime: "09:00",
	timeZone: null,
	start: new Date("2026-11-02T08:00:00Z"),
	restrictions: [],
	calendar: null,
};
const spec = (layers: Layer[], overrides: RosterSpec["overrides"] = []): RosterSpec => ({
	timeZone: "Europe/Berlin",
	layers,
	overrides,
});
const summary = (from: string, to: string, roster = spec([daily])) =>
	handoffsBetween(roster, new Date(from), new Date(to)).map((h) => [
		h.at.toISOString(),
		h.outgoingMemberId,
		h.incomingMemberId,
		h.shiftEnd?.toISOString() ?? null,
	]);

describe("handoffs", () => {
	it("finds each change of person within (from, to], with the incoming shift's end", () => {
		expect(summary("2026-11-03T00:00:00Z", "2026-11-05T00:00:00Z")).toEqual([
			["2026-11-03T08:00:00.000Z", "alice", "bob", "2026-11-04T08:00:00.000Z"],
			["2026-11-04T08:00:00.000Z", "bob", "alice", "2026-11-05T08:00:00.000Z"],
		]);
		// The window is open at the start and closed at the end, so each handoff is found once.
		expect(summary("2026-11-03T08:00:00Z", "2026-11-04T08:00:00Z")).toEqual([
			["2026-11-04T08:00:00.000Z", "bob", "alice", "2026-11-05T08:00:00.000Z"],
		]);
	});

	it("announces the first shift, and an override the same person takes is no handoff", () => {
		expect(summary("2026-11-02T07:00:00Z", "2026-11-02T09:00:00Z")).toEqual([
			["2026-11-02T08:00:00.000Z", null, "alice", "2026-11-03T08:00:00.000Z"],
		]);
		const own = spec(
			[daily],
			[
				{
					id: "o1",
					memberId: "alice",
					from: new Date("2026-11-02T12:00:00Z"),
					until: new Date("2026-11-02T14:00:00Z"),
				},
			],
		);
		expect(summary("2026-11-02T09:00:00Z", "2026-11-02T20:00:00Z", own)).toEqual([]);
	});

	it("reports hand-overs to nobody and back when a restricted layer leaves gaps", () => {
		const office: Layer = { ...daily, restrictions: [{ days: ["tue"], start: "10:00", end: "12:00" }] };
		expect(summary("2026-11-03T00:00:00Z", "2026-11-03T23:00:00Z", spec([office]))).toEqual([
			["2026-11-03T09:00:00.000Z", null, "bob", "2026-11-03T11:00:00.000Z"],
			["2026-11-03T11:00:00.000Z", "bob", null, null],
		]);
	});
});
