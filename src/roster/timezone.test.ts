import { DateTime, Settings } from "luxon";
import { afterEach, describe, expect, it } from "vitest";
import {
	addDays,
	atWallClock,
	DAY_MS,
	daysBetween,
	formatInZone,
	instantOfWallTime,
	isValidZone,
	localDate,
	MINUTE_MS,
	parseWallClock,
	wallTimeAt,
	weekdayOf,
} from "./timezone.ts";

describe("isValidZone", () => {
	it.each([
		["Europe/Berlin", true],
		["America/New_York", true],
		["Australia/Sydney", true],
		["UTC", true],
		["Mars/Olympus_Mons", false],
		["", false],
	])("%j → %s", (zone, valid) => {
		expect(isValidZone(zone)).toBe(valid);
	});
});

describe("parseWallClock", () => {
	it.each([
		["00:00", false, { hour: 0, minute: 0 }],
		["09:30", false, { hour: 9, minute: 30 }],
		["23:59", false, { hour: 23, minute: 59 }],
		["24:00", false, undefined],
		["24:00", true, { hour: 24, minute: 0 }],
		["24:01", true, undefined],
		["9:00", false, undefined],
		["12:60", false, undefined],
		["25:00", true, undefined],
		[" 09:00", false, undefined],
		["09:00:00", false, undefined],
		["", false, undefined],
	] as const)("%j (24:00 allowed: %s) → %j", (text, allowEndOfDay, expected) => {
		expect(parseWallClock(text, { allowEndOfDay })).toEqual(expected);
	});
});

describe("atWallClock", () => {
	it.each([
		// Ordinary readings.
		["Europe/Berlin", "2026-01-15", "09:00", "2026-01-15T09:00:00+01:00"],
		["Europe/Berlin", "2026-07-15", "09:00", "2026-07-15T09:00:00+02:00"],
		["America/New_York", "2026-01-15", "09:00", "2026-01-15T09:00:00-05:00"],
		["Australia/Sydney", "2026-01-15", "09:00", "2026-01-15T09:00:00+11:00"],
		// Spring forward: a skipped reading moves forward by the gap length.
		["Europe/Berlin", "2026-03-29", "01:59", "2026-03-29T01:59:00+01:00"],
		["Europe/Berlin", "2026-03-29", "02:00", "2026-03-29T03:00:00+02:00"],
		["Europe/Berlin", "2026-03-29", "02:30", "2026-03-29T03:30:00+02:00"],
		["Europe/Berlin", "2026-03-29", "03:00", "2026-03-29T03:00:00+02:00"],
		["America/New_York", "2026-03-08", "02:30", "2026-03-08T03:30:00-04:00"],
		["Australia/Sydney", "2026-10-04", "02:30", "2026-10-04T03:30:00+11:00"],
		// Lord Howe Island moves its clock by 30 minutes: the shift is the gap's length, not an hour.
		["Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-04T02:45:00+11:00"],
		// Fall back: a repeated reading is its first occurrence (summer-time offset).
		["Europe/Berlin", "2026-10-25", "01:59", "2026-10-25T01:59:00+02:00"],
		["Europe/Berlin", "2026-10-25", "02:00", "2026-10-25T02:00:00+02:00"],
		["Europe/Berlin", "2026-10-25", "02:30", "2026-10-25T02:30:00+02:00"],
		["Europe/Berlin", "2026-10-25", "03:00", "2026-10-25T03:00:00+01:00"],
		["America/New_York", "2026-11-01", "01:30", "2026-11-01T01:30:00-04:00"],
		["Australia/Sydney", "2026-04-05", "02:30", "2026-04-05T02:30:00+11:00"],
		["Australia/Lord_Howe", "2026-04-05", "01:45", "2026-04-05T01:45:00+11:00"],
		// 24:00 is midnight at the end of the date.
		["Europe/Berlin", "2026-03-28", "24:00", "2026-03-29T00:00:00+01:00"],
	])("%s %s %s → %s", (zone, date, time, expected) => {
		const [year, month, day] = date.split("-").map(Number) as [number, number, number];
		const clock = parseWallClock(time, { allowEndOfDay: true })!;
		expect(atWallClock({ year, month, day }, clock, zone)).toEqual(new Date(expected));
	});

	describe("does not depend on the current date, unlike luxon's fromObject", () => {
		const defaultNow = Settings.now;
		afterEach(() => {
			Settings.now = defaultNow;
		});

		it.each([
			["in summer", "2026-07-01T12:00:00Z"],
			["in winter", "2026-12-01T12:00:00Z"],
		])("%s", (_, now) => {
			Settings.now = () => new Date(now).getTime();
			const halfPastTwo = { hour: 2, minute: 30 };
			const repeatedDay = { year: 2026, month: 10, day: 25 };
			const skippedDay = { year: 2026, month: 3, day: 29 };
			// Luxon seeds its offset guess with today's offset: in winter it picks the SECOND 02:30.
			const luxonRepeated = DateTime.fromObject(
				{ ...repeatedDay, ...halfPastTwo },
				{ zone: "Europe/Berlin" },
			).toJSDate();
			const expectedLuxon = now.startsWith("2026-07") ? "2026-10-25T02:30:00+02:00" : "2026-10-25T02:30:00+01:00";
			expect(luxonRepeated).toEqual(new Date(expectedLuxon));
			// For skipped readings luxon does shift forward whatever the date, as we do.
			expect(DateTime.fromObject({ ...skippedDay, ...halfPastTwo }, { zone: "Europe/Berlin" }).toJSDate()).toEqual(
				new Date("2026-03-29T03:30:00+02:00"),
			);
			expect(atWallClock(repeatedDay, halfPastTwo, "Europe/Berlin")).toEqual(new Date("2026-10-25T02:30:00+02:00"));
			expect(atWallClock(skippedDay, halfPastTwo, "Europe/Berlin")).toEqual(new Date("2026-03-29T03:30:00+02:00"));
		});
	});

	it("rejects an unknown zone", () => {
		expect(() => atWallClock({ year: 2026, month: 1, day: 1 }, { hour: 9, minute: 0 }, "Mars/Olympus_Mons")).toThrow(
			RangeError,
		);
	});
});

describe("wall time round trip", () => {
	it.each([
		["Europe/Berlin", "2026-03-28T12:00:00Z", "2026-10-24T12:00:00Z"],
		["America/New_York", "2026-03-07T12:00:00Z", "2026-10-31T12:00:00Z"],
		["Australia/Sydney", "2026-10-03T00:00:00Z", "2026-04-04T00:00:00Z"],
	])("%s: every 15 minutes across both changes, only the repeated hour's second pass moves", (zone, ...days) => {
		for (const day of days) {
			for (let at = new Date(day).getTime(); at < new Date(day).getTime() + 2 * DAY_MS; at += 15 * MINUTE_MS) {
				const resolved = instantOfWallTime(wallTimeAt(new Date(at), zone), zone).getTime();
				// The second pass through a repeated reading resolves to the first, one hour earlier.
				if (resolved !== at) expect(resolved).toBe(at - 60 * MINUTE_MS);
				expect(formatInZone(new Date(resolved), zone).slice(0, 16)).toBe(formatInZone(new Date(at), zone).slice(0, 16));
			}
		}
	});
});

describe("localDate", () => {
	it.each([
		["2026-03-29T00:30:00Z", "Europe/Berlin", { year: 2026, month: 3, day: 29, weekday: "sun" }],
		["2026-03-28T22:59:00Z", "Europe/Berlin", { year: 2026, month: 3, day: 28, weekday: "sat" }],
		["2026-03-28T23:00:00Z", "Europe/Berlin", { year: 2026, month: 3, day: 29, weekday: "sun" }],
		["2026-01-01T03:00:00Z", "America/New_York", { year: 2025, month: 12, day: 31, weekday: "wed" }],
		["2026-12-31T14:00:00Z", "Australia/Sydney", { year: 2027, month: 1, day: 1, weekday: "fri" }],
	])("%s in %s", (at, zone, expected) => {
		expect(localDate(new Date(at), zone)).toEqual(expected);
	});
});

describe("calendar arithmetic", () => {
	it.each([
		[{ year: 2026, month: 1, day: 31 }, 1, { year: 2026, month: 2, day: 1 }],
		[{ year: 2028, month: 2, day: 28 }, 1, { year: 2028, month: 2, day: 29 }],
		[{ year: 2026, month: 12, day: 31 }, 1, { year: 2027, month: 1, day: 1 }],
		[{ year: 2026, month: 3, day: 1 }, -1, { year: 2026, month: 2, day: 28 }],
		[{ year: 2026, month: 3, day: 28 }, 2, { year: 2026, month: 3, day: 30 }],
	])("%j + %i days → %j", (date, days, expected) => {
		expect(addDays(date, days)).toEqual(expected);
		expect(daysBetween(date, expected)).toBe(days);
	});

	it("names weekdays", () => {
		expect(weekdayOf({ year: 2026, month: 3, day: 29 })).toBe("sun");
		expect(weekdayOf({ year: 2029, month: 1, day: 1 })).toBe("mon");
	});
});

describe("formatInZone", () => {
	it.each([
		["2026-03-29T07:00:00Z", "Europe/Berlin", "2026-03-29T09:00:00+02:00"],
		["2026-03-28T08:00:00Z", "Europe/Berlin", "2026-03-28T09:00:00+01:00"],
		["2026-03-29T07:00:00Z", "America/New_York", "2026-03-29T03:00:00-04:00"],
		["2026-03-29T07:00:00Z", "Australia/Sydney", "2026-03-29T18:00:00+11:00"],
		["2026-03-29T07:00:00Z", "Asia/Kolkata", "2026-03-29T12:30:00+05:30"],
		["2026-03-29T07:00:00.250Z", "UTC", "2026-03-29T07:00:00.250Z"],
	])("%s in %s → %s", (at, zone, expected) => {
		expect(formatInZone(new Date(at), zone)).toBe(expected);
	});
});
