import { describe, expect, it } from "vitest";
import {
	gaps,
	layerShifts,
	NEXT_ON_CALL_HORIZON_MS,
	nextOnCall,
	ON_CALL_SEARCH_LIMIT_MS,
	onCallAt,
	rotationShiftAt,
	shiftsInZone,
	timeline,
} from "./schedule.ts";
import { addDays, atWallClock, DAY_MS, formatInZone, HOUR_MS } from "./timezone.ts";
import type { Layer, Override, Restriction, RosterSpec, Shift, ShiftSource } from "./types.ts";

function layer(fields: Partial<Layer> & Pick<Layer, "id">): Layer {
	return {
		name: fields.id,
		position: 1,
		participants: ["a", "b", "c"],
		shiftLength: { unit: "days", count: 1 },
		handoffTime: "09:00",
		timeZone: null,
		start: new Date("2026-01-01T00:00:00Z"),
		restrictions: [],
		calendar: null,
		...fields,
	};
}

function roster(layers: Layer[], overrides: Override[] = [], timeZone = "UTC"): RosterSpec {
	return { timeZone, layers, overrides };
}

function override(id: string, memberId: string, from: string, until: string): Override {
	return { id, memberId, from: new Date(from), until: new Date(until) };
}

const fromLayer = (source: Layer): ShiftSource => ({ kind: "layer", layerId: source.id, layerName: source.name });
const fromOverride = (overrideId: string): ShiftSource => ({ kind: "override", overrideId });

function shift(memberId: string, start: string, end: string, source: ShiftSource): Shift {
	return { memberId, start: new Date(start), end: new Date(end), source };
}

const hoursOf = (interval: { start: Date; end: Date }) => (interval.end.getTime() - interval.start.getTime()) / HOUR_MS;

const everyDay: Restriction["days"] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

describe("rotation across DST", () => {
	// Each row: an instant inside the shift that spans the clock change, and that shift.
	describe("a daily 09:00 handoff stays 09:00 local; the spanning shift is 23 h or 25 h", () => {
		it.each([
			["Europe/Berlin", "spring", "2026-03-29T05:00:00Z", "2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00", 23],
			["Europe/Berlin", "fall", "2026-10-25T05:00:00Z", "2026-10-24T09:00:00+02:00", "2026-10-25T09:00:00+01:00", 25],
			[
				"America/New_York",
				"spring",
				"2026-03-08T12:00:00Z",
				"2026-03-07T09:00:00-05:00",
				"2026-03-08T09:00:00-04:00",
				23,
			],
			[
				"America/New_York",
				"fall",
				"2026-11-01T12:00:00Z",
				"2026-10-31T09:00:00-04:00",
				"2026-11-01T09:00:00-05:00",
				25,
			],
			[
				"Australia/Sydney",
				"spring",
				"2026-10-03T20:00:00Z",
				"2026-10-03T09:00:00+10:00",
				"2026-10-04T09:00:00+11:00",
				23,
			],
			[
				"Australia/Sydney",
				"fall",
				"2026-04-04T19:00:00Z",
				"2026-04-04T09:00:00+11:00",
				"2026-04-05T09:00:00+10:00",
				25,
			],
		])("%s %s", (zone, _, inside, start, end, hours) => {
			const daily = layer({ id: "daily", timeZone: zone });
			const spanning = rotationShiftAt(daily, "UTC", new Date(inside))!;
			expect([spanning.start, spanning.end]).toEqual([new Date(start), new Date(end)]);
			expect(hoursOf(spanning)).toBe(hours);
			const following = rotationShiftAt(daily, "UTC", spanning.end)!;
			expect(following.index).toBe(spanning.index + 1);
			expect(hoursOf(following)).toBe(24);
			expect(formatInZone(following.end, zone)).toMatch(/T09:00:00/);
		});
	});

	describe("12-hour shifts stay 08:00/20:00 local; the spanning shift is 11 h or 13 h", () => {
		it.each([
			["Europe/Berlin", "spring", "2026-03-29T05:00:00Z", "2026-03-28T20:00:00+01:00", "2026-03-29T08:00:00+02:00", 11],
			["Europe/Berlin", "fall", "2026-10-25T05:00:00Z", "2026-10-24T20:00:00+02:00", "2026-10-25T08:00:00+01:00", 13],
			[
				"America/New_York",
				"spring",
				"2026-03-08T10:00:00Z",
				"2026-03-07T20:00:00-05:00",
				"2026-03-08T08:00:00-04:00",
				11,
			],
			[
				"America/New_York",
				"fall",
				"2026-11-01T10:00:00Z",
				"2026-10-31T20:00:00-04:00",
				"2026-11-01T08:00:00-05:00",
				13,
			],
			[
				"Australia/Sydney",
				"spring",
				"2026-10-03T18:00:00Z",
				"2026-10-03T20:00:00+10:00",
				"2026-10-04T08:00:00+11:00",
				11,
			],
			[
				"Australia/Sydney",
				"fall",
				"2026-04-04T17:00:00Z",
				"2026-04-04T20:00:00+11:00",
				"2026-04-05T08:00:00+10:00",
				13,
			],
		])("%s %s", (zone, _, inside, start, end, hours) => {
			const twelveHours = layer({
				id: "12h",
				timeZone: zone,
				shiftLength: { unit: "hours", count: 12 },
				handoffTime: "08:00",
			});
			const spanning = rotationShiftAt(twelveHours, "UTC", new Date(inside))!;
			expect([spanning.start, spanning.end]).toEqual([new Date(start), new Date(end)]);
			expect(hoursOf(spanning)).toBe(hours);
			// Five days either side: every boundary reads 08:00 or 20:00 on the local clock.
			const around = layerShifts(
				twelveHours,
				"UTC",
				new Date(spanning.start.getTime() - 5 * DAY_MS),
				new Date(spanning.end.getTime() + 5 * DAY_MS),
			);
			expect(around).toHaveLength(21);
			for (const each of around) expect(formatInZone(each.start, zone)).toMatch(/T(08|20):00:00/);
			expect(around.filter((each) => hoursOf(each) !== 12)).toEqual([
				expect.objectContaining({ start: new Date(start), end: new Date(end) }),
			]);
		});
	});

	it.each([
		// 02:30 doesn't exist on 2026-03-29: the handoff happens at 03:30 CEST, so the shift before
		// it still lasts 24 h and the one after it only 23 h.
		["spring", "2026-03-29T12:00:00Z", ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00"], 23],
		// 02:30 happens twice on 2026-10-25: the handoff is at the first one (CEST), so the shift
		// starting there also covers the repeated hour and lasts 25 h.
		["fall", "2026-10-25T12:00:00Z", ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00"], 25],
	] as const)("a 02:30 handoff in Europe/Berlin, %s", (_, inside, [previousStart, start], hours) => {
		const halfPastTwo = layer({ id: "0230", timeZone: "Europe/Berlin", handoffTime: "02:30" });
		const current = rotationShiftAt(halfPastTwo, "UTC", new Date(inside))!;
		const previous = rotationShiftAt(halfPastTwo, "UTC", new Date(current.start.getTime() - 1))!;
		expect([previous.start, previous.end, current.start]).toEqual([
			new Date(previousStart),
			new Date(start),
			new Date(start),
		]);
		expect(hoursOf(previous)).toBe(24);
		expect(hoursOf(current)).toBe(hours);
	});

	it("a weekly Monday 09:00 handoff: the week with the spring change has 167 h", () => {
		const weekly = layer({
			id: "weekly",
			timeZone: "Europe/Berlin",
			shiftLength: { unit: "weeks", count: 1 },
			start: new Date("2026-03-02T00:00:00+01:00"),
		});
		const spanning = rotationShiftAt(weekly, "UTC", new Date("2026-03-29T12:00:00Z"))!;
		expect([spanning.start, spanning.end]).toEqual([
			new Date("2026-03-23T09:00:00+01:00"),
			new Date("2026-03-30T09:00:00+02:00"),
		]);
		expect(hoursOf(spanning)).toBe(167);
	});

	it.each([
		// Wall-clock hour 02:00–03:00 doesn't exist: that participant's 1-hour shift is empty.
		["spring", "2026-03-29T00:00:00+01:00", "2026-03-29T05:00:00+02:00", [1, 1, 1, 1]],
		// The hour starting at the first 02:00 also covers the repeated hour.
		["fall", "2026-10-25T00:00:00+02:00", "2026-10-25T05:00:00+01:00", [1, 1, 2, 1, 1]],
	])("hourly shifts in Europe/Berlin, %s", (_, from, to, durations) => {
		const hourly = layer({
			id: "hourly",
			timeZone: "Europe/Berlin",
			participants: ["a", "b", "c", "d", "e"],
			shiftLength: { unit: "hours", count: 1 },
			handoffTime: "00:00",
		});
		expect(layerShifts(hourly, "UTC", new Date(from), new Date(to)).map(hoursOf)).toEqual(durations);
	});
});

describe("weekly rotation of three", () => {
	const weekly = layer({
		id: "weekly",
		timeZone: "Europe/Berlin",
		shiftLength: { unit: "weeks", count: 1 },
		// Monday; the first 09:00 at or after this is Monday 2026-01-05 09:00.
		start: new Date("2026-01-05T00:00:00+01:00"),
	});

	it("cycles a, b, c every Monday 09:00 local for four years", () => {
		for (let week = 0; week < 210; week++) {
			const expectedStart = atWallClock(
				addDays({ year: 2026, month: 1, day: 5 }, 7 * week),
				{ hour: 9, minute: 0 },
				"Europe/Berlin",
			);
			const found = rotationShiftAt(weekly, "UTC", new Date(expectedStart.getTime() + 3 * DAY_MS))!;
			expect(found.index).toBe(week);
			expect(found.memberId).toBe(["a", "b", "c"][week % 3]);
			expect(found.start).toEqual(expectedStart);
		}
	});

	it.each([
		["2026-01-04T12:00:00Z", undefined],
		["2026-01-05T07:59:59Z", undefined],
		["2026-01-05T08:00:00Z", [0, "a", "2026-01-05T09:00:00+01:00", "2026-01-12T09:00:00+01:00"]],
		["2026-01-12T08:00:00Z", [1, "b", "2026-01-12T09:00:00+01:00", "2026-01-19T09:00:00+01:00"]],
		["2026-04-01T00:00:00Z", [12, "a", "2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00"]],
		["2029-01-01T08:00:00Z", [156, "a", "2029-01-01T09:00:00+01:00", "2029-01-08T09:00:00+01:00"]],
		["2029-06-13T00:00:00Z", [179, "c", "2029-06-11T09:00:00+02:00", "2029-06-18T09:00:00+02:00"]],
	] as const)("at %s", (at, expected) => {
		const found = rotationShiftAt(weekly, "UTC", new Date(at));
		if (expected === undefined) return expect(found).toBeUndefined();
		const [index, memberId, start, end] = expected;
		expect(found).toEqual({ index, memberId, start: new Date(start), end: new Date(end) });
	});

	it("finds a shift 26 years into an hourly rotation directly", () => {
		// 2000-01-01 → 2026-01-01 is 9497 days (7 leap days) = 227 928 hours; 227 928 % 5 = 3.
		const hourly = layer({
			id: "hourly",
			participants: ["p0", "p1", "p2", "p3", "p4"],
			shiftLength: { unit: "hours", count: 1 },
			handoffTime: "00:00",
			start: new Date("2000-01-01T00:00:00Z"),
		});
		expect(rotationShiftAt(hourly, "UTC", new Date("2026-01-01T00:30:00Z"))).toEqual({
			index: 227_928,
			memberId: "p3",
			start: new Date("2026-01-01T00:00:00Z"),
			end: new Date("2026-01-01T01:00:00Z"),
		});
	});

	it("starts at the first handoff at or after start", () => {
		const startsAtHandoff = layer({ id: "exact", start: new Date("2026-01-05T09:00:00Z") });
		const startsJustAfter = layer({ id: "after", start: new Date("2026-01-05T09:00:00.001Z") });
		expect(rotationShiftAt(startsAtHandoff, "UTC", new Date("2026-01-05T09:00:00Z"))?.start).toEqual(
			new Date("2026-01-05T09:00:00Z"),
		);
		expect(rotationShiftAt(startsJustAfter, "UTC", new Date("2026-01-05T12:00:00Z"))).toBeUndefined();
		expect(rotationShiftAt(startsJustAfter, "UTC", new Date("2026-01-06T09:00:00Z"))).toMatchObject({
			index: 0,
			memberId: "a",
		});
	});
});

describe("follow the sun", () => {
	function followTheSun(windows: { sydney: string[]; berlin: string[]; newYork: string[] }): RosterSpec {
		const region = (id: string, zone: string, [start, end]: string[], position: number) =>
			layer({
				id,
				position,
				timeZone: zone,
				participants: [`${id}-1`, `${id}-2`],
				handoffTime: "00:00",
				start: new Date("2026-01-01T00:00:00Z"),
				restrictions: [{ days: everyDay, start: start!, end: end! }],
			});
		return roster([
			region("sydney", "Australia/Sydney", windows.sydney, 3),
			region("berlin", "Europe/Berlin", windows.berlin, 2),
			region("new-york", "America/New_York", windows.newYork, 1),
		]);
	}

	// In UTC: Sydney 22/23:00–08/09:00, Berlin 05/06:00–15/16:00, New York 14/15:00–00/01:00,
	// depending on each zone's DST. Each window overlaps the next in every combination of offsets.
	const overlapping = followTheSun({
		sydney: ["09:00", "19:00"],
		berlin: ["07:00", "17:00"],
		newYork: ["10:00", "20:00"],
	});

	it.each([
		["March–April (US, EU, then Sydney change)", "2026-03-01T00:00:00Z", "2026-04-15T00:00:00Z"],
		["September–November (Sydney, EU, then US change)", "2026-09-25T00:00:00Z", "2026-11-10T00:00:00Z"],
	])("overlapping windows leave no gap, %s", (_, from, to) => {
		expect(gaps(overlapping, new Date(from), new Date(to))).toEqual([]);
	});

	// Windows that meet exactly when all three zones are on the offsets of early March (Sydney
	// AEDT 10–18 = 23:00–07:00Z, Berlin CET 08–16 = 07:00–15:00Z, New York EST 10–18 = 15:00–23:00Z).
	const abutting = followTheSun({
		sydney: ["10:00", "18:00"],
		berlin: ["08:00", "16:00"],
		newYork: ["10:00", "18:00"],
	});
	const dailyHoles = (month: string, days: number[]) =>
		days.map((day) => {
			const date = `2026-${month}-${String(day).padStart(2, "0")}`;
			return { start: new Date(`${date}T22:00:00Z`), end: new Date(`${date}T23:00:00Z`) };
		});
	const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

	it("a hole opens when New York springs forward and Sydney does not", () => {
		// From 2026-03-08 New York is on EDT: its 18:00 end is 22:00Z, an hour before Sydney's
		// 10:00 AEDT start (23:00Z). Berlin's own change on 03-29 only moves its morning overlap
		// with Sydney and its afternoon hand-over to New York (still meeting at 14:00Z): no new hole.
		expect(gaps(abutting, new Date("2026-03-01T00:00:00Z"), new Date("2026-04-01T00:00:00Z"))).toEqual(
			dailyHoles("03", range(8, 31)),
		);
	});

	it("the hole closes when New York falls back", () => {
		// In late October Sydney is already on AEDT (since 10-04) and New York still on EDT, so the
		// 22:00–23:00Z hole is there every evening; Berlin's change on 10-25 doesn't touch it. On
		// 11-01 New York's 18:00 EST is 23:00Z again and meets Sydney.
		expect(gaps(abutting, new Date("2026-10-20T00:00:00Z"), new Date("2026-11-08T00:00:00Z"))).toEqual(
			dailyHoles("10", range(20, 31)),
		);
	});

	it("each region holds its own window in the timeline", () => {
		// Daily rotations from the first local midnight after 2026-01-01T00:00Z: Sydney's and Berlin's
		// shift 0 is on 01-02 and New York's on 01-01, so local 03-02 is shift 59 in Sydney and Berlin
		// (second participant) and shift 60 in New York (first); 23:00Z is already 03-03 in Sydney.
		const day = timeline(abutting, new Date("2026-03-02T00:00:00Z"), new Date("2026-03-03T00:00:00Z"));
		expect(
			day.map((piece) => [piece.memberId, formatInZone(piece.start, "UTC"), formatInZone(piece.end, "UTC")]),
		).toEqual([
			["sydney-2", "2026-03-02T00:00:00Z", "2026-03-02T07:00:00Z"],
			["berlin-2", "2026-03-02T07:00:00Z", "2026-03-02T15:00:00Z"],
			["new-york-1", "2026-03-02T15:00:00Z", "2026-03-02T23:00:00Z"],
			["sydney-1", "2026-03-02T23:00:00Z", "2026-03-03T00:00:00Z"],
		]);
	});
});

describe("precedence", () => {
	const alwaysA = layer({ id: "base", participants: ["a"], handoffTime: "00:00" });
	const day = (hour: number) => `2026-02-02T${String(hour).padStart(2, "0")}:00:00Z`;
	const timelineOfDay = (spec: RosterSpec) => timeline(spec, new Date(day(0)), new Date("2026-02-03T00:00:00Z"));

	it("an override wins over every layer", () => {
		const spec = roster([alwaysA], [override("o1", "b", day(10), day(14))]);
		expect(timelineOfDay(spec)).toEqual([
			shift("a", day(0), day(10), fromLayer(alwaysA)),
			shift("b", day(10), day(14), fromOverride("o1")),
			shift("a", day(14), "2026-02-03T00:00:00Z", fromLayer(alwaysA)),
		]);
	});

	it("overlapping overrides: the one that starts later wins, the earlier one shows again after it", () => {
		const spec = roster(
			[alwaysA],
			[
				override("long", "b", day(10), day(18)),
				override("late", "d", day(13), day(15)),
				override("mid", "c", day(12), day(14)),
			],
		);
		expect(timelineOfDay(spec)).toEqual([
			shift("a", day(0), day(10), fromLayer(alwaysA)),
			shift("b", day(10), day(12), fromOverride("long")),
			shift("c", day(12), day(13), fromOverride("mid")),
			shift("d", day(13), day(15), fromOverride("late")),
			shift("b", day(15), day(18), fromOverride("long")),
			shift("a", day(18), "2026-02-03T00:00:00Z", fromLayer(alwaysA)),
		]);
	});

	it("overrides with the same start: the one listed later wins", () => {
		const spec = roster([], [override("first", "b", day(10), day(12)), override("second", "c", day(10), day(11))]);
		expect(timelineOfDay(spec)).toEqual([
			shift("c", day(10), day(11), fromOverride("second")),
			shift("b", day(11), day(12), fromOverride("first")),
		]);
	});

	it("an override whose until is not after its from covers nothing", () => {
		expect(timelineOfDay(roster([], [override("empty", "b", day(10), day(10))]))).toEqual([]);
	});

	it("a restricted higher layer wins only inside its windows", () => {
		const lower = layer({
			id: "lower",
			position: 1,
			participants: ["a", "b"],
			handoffTime: "00:00",
			timeZone: "Europe/Berlin",
		});
		const office = layer({
			id: "office",
			position: 2,
			participants: ["x"],
			timeZone: "Europe/Berlin",
			restrictions: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" }],
		});
		// Friday 2026-02-06 to Monday 2026-02-09, Berlin on CET. The lower layer hands over at local
		// midnight; its shift 0 is 01-02, so Friday 02-06 is shift 35 ("b").
		const pieces = timeline(
			roster([lower, office]),
			new Date("2026-02-06T00:00:00+01:00"),
			new Date("2026-02-10T00:00:00+01:00"),
		);
		expect(pieces).toEqual([
			shift("b", "2026-02-06T00:00:00+01:00", "2026-02-06T09:00:00+01:00", fromLayer(lower)),
			shift("x", "2026-02-06T09:00:00+01:00", "2026-02-06T17:00:00+01:00", fromLayer(office)),
			shift("b", "2026-02-06T17:00:00+01:00", "2026-02-07T00:00:00+01:00", fromLayer(lower)),
			shift("a", "2026-02-07T00:00:00+01:00", "2026-02-08T00:00:00+01:00", fromLayer(lower)),
			shift("b", "2026-02-08T00:00:00+01:00", "2026-02-09T00:00:00+01:00", fromLayer(lower)),
			shift("a", "2026-02-09T00:00:00+01:00", "2026-02-09T09:00:00+01:00", fromLayer(lower)),
			shift("x", "2026-02-09T09:00:00+01:00", "2026-02-09T17:00:00+01:00", fromLayer(office)),
			shift("a", "2026-02-09T17:00:00+01:00", "2026-02-10T00:00:00+01:00", fromLayer(lower)),
		]);
	});

	it("layers with equal positions: the one listed first wins", () => {
		const first = layer({ id: "first", participants: ["a"] });
		const second = layer({ id: "second", participants: ["b"] });
		expect(timelineOfDay(roster([first, second])).map((piece) => piece.memberId)).toEqual(["a"]);
		expect(timelineOfDay(roster([second, first])).map((piece) => piece.memberId)).toEqual(["b"]);
	});
});

describe("merging", () => {
	it("joins neighbouring pieces with the same member and source only", () => {
		// Daily shifts 0 and 1 (Thu 01-01, Fri 01-02) both go to "a": one piece. Shift 2 goes to "b",
		// who also holds the Friday and Saturday evenings in a higher layer and an override.
		const doubled = layer({ id: "doubled", position: 1, participants: ["a", "a", "b"], handoffTime: "00:00" });
		const evening = layer({
			id: "evening",
			position: 2,
			participants: ["b"],
			restrictions: [{ days: ["fri", "sat"], start: "18:00", end: "24:00" }],
		});
		const pieces = timeline(
			roster([doubled, evening], [override("o1", "b", "2026-01-03T06:00:00Z", "2026-01-03T08:00:00Z")]),
			new Date("2026-01-01T00:00:00Z"),
			new Date("2026-01-04T00:00:00Z"),
		);
		expect(pieces).toEqual([
			shift("a", "2026-01-01T00:00:00Z", "2026-01-02T18:00:00Z", fromLayer(doubled)),
			// The same member from different sources: neighbours, but not merged.
			shift("b", "2026-01-02T18:00:00Z", "2026-01-03T00:00:00Z", fromLayer(evening)),
			shift("b", "2026-01-03T00:00:00Z", "2026-01-03T06:00:00Z", fromLayer(doubled)),
			shift("b", "2026-01-03T06:00:00Z", "2026-01-03T08:00:00Z", fromOverride("o1")),
			shift("b", "2026-01-03T08:00:00Z", "2026-01-03T18:00:00Z", fromLayer(doubled)),
			shift("b", "2026-01-03T18:00:00Z", "2026-01-04T00:00:00Z", fromLayer(evening)),
		]);
	});

	it("layerShifts keeps rotation shifts apart and clips them to the window", () => {
		const single = layer({ id: "single", participants: ["a"], handoffTime: "00:00" });
		expect(layerShifts(single, "UTC", new Date("2026-01-01T12:00:00Z"), new Date("2026-01-03T06:00:00Z"))).toEqual([
			shift("a", "2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z", fromLayer(single)),
			shift("a", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", fromLayer(single)),
			shift("a", "2026-01-03T00:00:00Z", "2026-01-03T06:00:00Z", fromLayer(single)),
		]);
	});
});

describe("restrictions", () => {
	const restricted = (restrictions: Restriction[]) =>
		layer({ id: "r", participants: ["a"], handoffTime: "00:00", timeZone: "Europe/Berlin", restrictions });
	// The timeline joins the one member's daily rotation shifts, leaving only the windows' shape.
	const windowsOf = (restrictions: Restriction[], from: string, to: string) =>
		timeline(roster([restricted(restrictions)]), new Date(from), new Date(to)).map((piece) =>
			shiftsInZone(piece, "Europe/Berlin"),
		);

	it.each([
		[
			"a window crossing midnight belongs to the day it starts",
			[{ days: ["fri"], start: "22:00", end: "06:00" }],
			"2026-02-05T00:00:00+01:00",
			"2026-02-09T00:00:00+01:00",
			[["2026-02-06T22:00:00+01:00", "2026-02-07T06:00:00+01:00"]],
		],
		[
			"a window open at the start of the range, opened the day before",
			[{ days: ["fri"], start: "22:00", end: "06:00" }],
			"2026-02-07T02:00:00+01:00",
			"2026-02-09T00:00:00+01:00",
			[["2026-02-07T02:00:00+01:00", "2026-02-07T06:00:00+01:00"]],
		],
		[
			"a night window over the spring-forward night lasts 7 h",
			[{ days: ["sat"], start: "22:00", end: "06:00" }],
			"2026-03-28T00:00:00+01:00",
			"2026-03-30T00:00:00+02:00",
			[["2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00"]],
		],
		[
			"24:00 ends at midnight",
			[{ days: ["mon"], start: "18:00", end: "24:00" }],
			"2026-02-09T00:00:00+01:00",
			"2026-02-11T00:00:00+01:00",
			[["2026-02-09T18:00:00+01:00", "2026-02-10T00:00:00+01:00"]],
		],
		[
			"00:00–24:00 on consecutive days joins into one stretch",
			[{ days: ["mon", "tue"], start: "00:00", end: "24:00" }],
			"2026-02-08T12:00:00+01:00",
			"2026-02-11T12:00:00+01:00",
			[["2026-02-09T00:00:00+01:00", "2026-02-11T00:00:00+01:00"]],
		],
		[
			"equal start and end is a full 24 h from the start",
			[{ days: ["wed"], start: "09:00", end: "09:00" }],
			"2026-02-11T00:00:00+01:00",
			"2026-02-12T00:00:00+01:00",
			[["2026-02-11T09:00:00+01:00", "2026-02-12T00:00:00+01:00"]],
		],
		[
			"overlapping windows are united",
			[
				{ days: ["thu"], start: "08:00", end: "12:00" },
				{ days: ["thu"], start: "11:00", end: "14:00" },
			],
			"2026-02-12T00:00:00+01:00",
			"2026-02-13T00:00:00+01:00",
			[["2026-02-12T08:00:00+01:00", "2026-02-12T14:00:00+01:00"]],
		],
		[
			"no days: never",
			[{ days: [], start: "00:00", end: "24:00" }],
			"2026-02-09T00:00:00+01:00",
			"2026-02-16T00:00:00+01:00",
			[],
		],
	] as const)("%s", (_, restrictions, from, to, expected) => {
		const windows = windowsOf(
			restrictions.map((restriction) => ({ ...restriction, days: [...restriction.days] })),
			from,
			to,
		);
		expect(windows.map(({ start, end }) => [start, end])).toEqual(expected);
	});
});

describe("onCallAt", () => {
	const weekly = layer({
		id: "weekly",
		participants: ["a", "b", "c"],
		shiftLength: { unit: "weeks", count: 1 },
		timeZone: "Europe/Berlin",
		start: new Date("2026-01-05T00:00:00+01:00"),
	});
	const spec = roster([weekly], [override("o1", "z", "2026-01-14T12:00:00Z", "2026-01-14T18:00:00Z")]);

	it.each([
		["before the rotation starts", "2026-01-01T00:00:00Z", undefined],
		[
			"in a rotation shift",
			"2026-01-06T00:00:00Z",
			{
				memberId: "a",
				source: fromLayer(weekly),
				shiftStart: "2026-01-05T09:00:00+01:00",
				shiftEnd: "2026-01-12T09:00:00+01:00",
			},
		],
		[
			"in an override",
			"2026-01-14T13:00:00Z",
			{
				memberId: "z",
				source: fromOverride("o1"),
				shiftStart: "2026-01-14T12:00:00Z",
				shiftEnd: "2026-01-14T18:00:00Z",
			},
		],
		[
			"in the part of a shift before an override",
			"2026-01-13T00:00:00Z",
			{
				memberId: "b",
				source: fromLayer(weekly),
				shiftStart: "2026-01-12T09:00:00+01:00",
				shiftEnd: "2026-01-14T12:00:00Z",
			},
		],
		[
			"in the part of a shift after an override",
			"2026-01-15T00:00:00Z",
			{
				memberId: "b",
				source: fromLayer(weekly),
				shiftStart: "2026-01-14T18:00:00Z",
				shiftEnd: "2026-01-19T09:00:00+01:00",
			},
		],
		[
			"exactly at a handoff",
			"2026-01-19T08:00:00Z",
			{
				memberId: "c",
				source: fromLayer(weekly),
				shiftStart: "2026-01-19T09:00:00+01:00",
				shiftEnd: "2026-01-26T09:00:00+01:00",
			},
		],
	])("%s", (_, at, expected) => {
		const found = onCallAt(spec, new Date(at));
		if (expected === undefined) return expect(found).toBeUndefined();
		expect(found).toEqual({
			...expected,
			shiftStart: new Date(expected.shiftStart),
			shiftEnd: new Date(expected.shiftEnd),
		});
	});

	it("follows a piece across many shifts, up to 45 days each way", () => {
		const alone = layer({
			id: "alone",
			participants: ["a"],
			handoffTime: "00:00",
			start: new Date("2026-01-01T00:00:00Z"),
		});
		const at = new Date("2026-01-10T00:00:00Z");
		expect(onCallAt(roster([alone]), at)).toEqual({
			memberId: "a",
			source: fromLayer(alone),
			shiftStart: new Date("2026-01-01T00:00:00Z"),
			shiftEnd: new Date(at.getTime() + ON_CALL_SEARCH_LIMIT_MS),
		});
	});

	it("finds the exact bounds of a 20-day override over a daily rotation", () => {
		const spec20 = roster(
			[layer({ id: "daily" })],
			[override("long", "z", "2026-02-01T00:00:00Z", "2026-02-21T00:00:00Z")],
		);
		expect(onCallAt(spec20, new Date("2026-02-02T00:00:00Z"))).toMatchObject({
			memberId: "z",
			shiftStart: new Date("2026-02-01T00:00:00Z"),
			shiftEnd: new Date("2026-02-21T00:00:00Z"),
		});
	});

	it("is undefined where a restricted layer is absent", () => {
		const office = layer({ id: "office", restrictions: [{ days: ["mon"], start: "09:00", end: "17:00" }] });
		expect(onCallAt(roster([office]), new Date("2026-02-03T10:00:00Z"))).toBeUndefined();
		expect(onCallAt(roster([office]), new Date("2026-02-02T10:00:00Z"))).toMatchObject({
			shiftStart: new Date("2026-02-02T09:00:00Z"),
			shiftEnd: new Date("2026-02-02T17:00:00Z"),
		});
	});
});

describe("nextOnCall", () => {
	const weekly = layer({
		id: "weekly",
		participants: ["a", "b", "c"],
		shiftLength: { unit: "weeks", count: 1 },
		handoffTime: "09:00",
		start: new Date("2026-01-05T00:00:00Z"),
	});

	it("is the next participant of the rotation", () => {
		expect(nextOnCall(roster([weekly]), new Date("2026-01-06T00:00:00Z"))).toEqual({
			memberId: "b",
			source: fromLayer(weekly),
			shiftStart: new Date("2026-01-12T09:00:00Z"),
			shiftEnd: new Date("2026-01-19T09:00:00Z"),
		});
	});

	it("skips pieces of the current member from another source", () => {
		// "a" is on call by override until Monday 09:00, where the rotation hands over to "a" too.
		const rotation = layer({ ...weekly, participants: ["b", "a", "c"] });
		const spec = roster([rotation], [override("o1", "a", "2026-01-11T00:00:00Z", "2026-01-12T09:00:00Z")]);
		expect(nextOnCall(spec, new Date("2026-01-11T12:00:00Z"))).toMatchObject({
			memberId: "c",
			shiftStart: new Date("2026-01-19T09:00:00Z"),
		});
	});

	it("is the first piece when nobody is on call", () => {
		expect(nextOnCall(roster([weekly]), new Date("2026-01-01T00:00:00Z"))).toMatchObject({
			memberId: "a",
			shiftStart: new Date("2026-01-05T09:00:00Z"),
			shiftEnd: new Date("2026-01-12T09:00:00Z"),
		});
	});

	it("looks 90 days ahead at most", () => {
		const late = override("late", "z", "2026-04-02T00:00:00Z", "2026-04-03T00:00:00Z");
		expect(nextOnCall(roster([], [late]), new Date("2026-01-01T00:00:00Z"))).toBeUndefined();
		// A piece that reaches the horizon reports the horizon as its end.
		expect(
			nextOnCall(roster([], [late]), new Date(late.from.getTime() - NEXT_ON_CALL_HORIZON_MS + HOUR_MS)),
		).toMatchObject({
			memberId: "z",
			shiftStart: late.from,
			shiftEnd: new Date(late.from.getTime() + HOUR_MS),
		});
		expect(
			nextOnCall(roster([], [late]), new Date(late.from.getTime() - NEXT_ON_CALL_HORIZON_MS + 2 * DAY_MS)),
		).toMatchObject({
			shiftEnd: late.until,
		});
		const alone = layer({ id: "alone", participants: ["a"] });
		expect(nextOnCall(roster([alone]), new Date("2026-02-01T00:00:00Z"))).toBeUndefined();
	});
});

describe("gaps", () => {
	it("with no layers or overrides, the whole window", () => {
		expect(gaps(roster([]), new Date("2026-01-01T00:00:00Z"), new Date("2026-02-01T00:00:00Z"))).toEqual([
			{ start: new Date("2026-01-01T00:00:00Z"), end: new Date("2026-02-01T00:00:00Z") },
		]);
	});

	it("around overrides and a late-starting layer", () => {
		const spec = roster(
			[layer({ id: "daily", start: new Date("2026-01-02T00:00:00Z") })],
			[override("o1", "z", "2025-12-31T12:00:00Z", "2026-01-01T06:00:00Z")],
		);
		expect(gaps(spec, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-03T00:00:00Z"))).toEqual([
			{ start: new Date("2026-01-01T06:00:00Z"), end: new Date("2026-01-02T09:00:00Z") },
		]);
	});

	it("an empty window has none", () => {
		expect(gaps(roster([]), new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"))).toEqual([]);
	});
});

describe("shiftsInZone", () => {
	it("shows a shift on each participant's clock", () => {
		const piece = shift("a", "2026-03-29T07:00:00Z", "2026-03-29T15:00:00Z", fromOverride("o1"));
		expect(shiftsInZone(piece, "Europe/Berlin")).toEqual({
			start: "2026-03-29T09:00:00+02:00",
			end: "2026-03-29T17:00:00+02:00",
		});
		expect(shiftsInZone(piece, "America/New_York")).toEqual({
			start: "2026-03-29T03:00:00-04:00",
			end: "2026-03-29T11:00:00-04:00",
		});
		expect(shiftsInZone(piece, "Australia/Sydney")).toEqual({
			start: "2026-03-29T18:00:00+11:00",
			end: "2026-03-30T02:00:00+11:00",
		});
	});
});

describe("invalid specs", () => {
	const window = [new Date("2026-01-01T00:00:00Z"), new Date("2026-01-02T00:00:00Z")] as const;
	it.each([
		["an unknown zone", layer({ id: "bad", timeZone: "Mars/Olympus_Mons" })],
		["a handoff that isn't HH:MM", layer({ id: "bad", handoffTime: "9am" })],
		["a 24:00 handoff", layer({ id: "bad", handoffTime: "24:00" })],
		["no participants", layer({ id: "bad", participants: [] })],
		["a zero shift length", layer({ id: "bad", shiftLength: { unit: "days", count: 0 } })],
		["a bad restriction", layer({ id: "bad", restrictions: [{ days: ["mon"], start: "24:00", end: "06:00" }] })],
	])("throw RangeError: %s", (_, bad) => {
		expect(() => layerShifts(bad, "UTC", ...window)).toThrow(RangeError);
	});
});

describe("a large roster: 5 layers × 20 participants × 200 overrides", () => {
	const people = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
	const weekdays: Restriction["days"] = ["mon", "tue", "wed", "thu", "fri"];
	const layers = [
		layer({
			id: "base",
			position: 1,
			participants: people("base"),
			shiftLength: { unit: "weeks", count: 1 },
			timeZone: "Europe/Berlin",
			start: new Date("2026-01-05T00:00:00+01:00"),
		}),
		layer({
			id: "us-business",
			position: 2,
			participants: people("us"),
			handoffTime: "08:00",
			timeZone: "America/New_York",
			restrictions: [{ days: weekdays, start: "08:00", end: "18:00" }],
		}),
		layer({
			id: "apac-weekend",
			position: 3,
			participants: people("apac"),
			shiftLength: { unit: "hours", count: 12 },
			handoffTime: "08:00",
			timeZone: "Australia/Sydney",
			restrictions: [{ days: ["sat", "sun"], start: "00:00", end: "24:00" }],
		}),
		layer({
			id: "night",
			position: 4,
			participants: people("night"),
			shiftLength: { unit: "days", count: 2 },
			handoffTime: "22:00",
			restrictions: [{ days: ["mon", "thu"], start: "22:00", end: "06:00" }],
		}),
		layer({
			id: "lunch",
			position: 5,
			participants: people("lunch"),
			shiftLength: { unit: "hours", count: 8 },
			handoffTime: "00:00",
			timeZone: "Asia/Kolkata",
			start: new Date("2026-02-01T00:00:00Z"),
			restrictions: [{ days: ["wed"], start: "12:00", end: "13:00" }],
		}),
	];
	// Override i starts 37 h after override i-1; every tenth lasts 50 h and so lies under the next one.
	const overrides = Array.from({ length: 200 }, (_, i): Override => {
		const from = new Date("2026-01-10T00:00:00Z").getTime() + i * 37 * HOUR_MS;
		const hours = i % 10 === 0 ? 50 : (i % 5) + 1;
		return { id: `o-${i}`, memberId: `cover-${i % 7}`, from: new Date(from), until: new Date(from + hours * HOUR_MS) };
	});
	const spec = roster(layers, overrides, "Europe/London");

	it.each([
		[
			"an override over a longer, earlier one",
			"2026-01-11T14:00:00Z",
			{
				memberId: "cover-1",
				source: fromOverride("o-1"),
				shiftStart: "2026-01-11T13:00:00Z",
				shiftEnd: "2026-01-11T15:00:00Z",
			},
		],
		[
			"the longer override once the later one ends",
			"2026-01-11T16:00:00Z",
			{
				memberId: "cover-0",
				source: fromOverride("o-0"),
				shiftStart: "2026-01-11T15:00:00Z",
				shiftEnd: "2026-01-12T02:00:00Z",
			},
		],
		[
			// Tuesday 12:00 EDT, no override (o-38 ended 03-09 18:00Z, o-39 starts 03-11 03:00Z), no
			// night/lunch/weekend window; the daily rotation's shift 0 is 01-01 08:00, so 03-10 is
			// shift 68 → us-08, clipped to the 08:00–18:00 window.
			"a restricted layer in its window",
			"2026-03-10T16:00:00Z",
			{
				memberId: "us-08",
				source: fromLayer(layers[1]!),
				shiftStart: "2026-03-10T08:00:00-04:00",
				shiftEnd: "2026-03-10T18:00:00-04:00",
			},
		],
	])("%s", (_, at, expected) => {
		expect(onCallAt(spec, new Date(at))).toEqual({
			...expected,
			shiftStart: new Date(expected.shiftStart),
			shiftEnd: new Date(expected.shiftEnd),
		});
	});

	it("onCallAt agrees with the whole-year timeline at 1 400 instants", () => {
		const year = timeline(spec, new Date("2026-01-01T00:00:00Z"), new Date("2027-01-01T00:00:00Z"));
		let checked = 0;
		for (let at = Date.UTC(2026, 0, 12); at < Date.UTC(2026, 10, 20); at += 5 * HOUR_MS + 17 * 60_000) {
			const piece = year.find((candidate) => candidate.start.getTime() <= at && at < candidate.end.getTime());
			const expected = piece && {
				memberId: piece.memberId,
				source: piece.source,
				shiftStart: piece.start,
				shiftEnd: piece.end,
			};
			expect(onCallAt(spec, new Date(at))).toEqual(expected);
			checked++;
		}
		expect(checked).toBeGreaterThan(1400);
	});
});
