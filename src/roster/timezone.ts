/**
 * Wall-clock ↔ instant conversion for rosters. Everything that interprets a local time in an IANA
 * zone lives here, so the rules below hold everywhere.
 *
 * - Instants are JS `Date`s (UTC). Wall-clock readings are handled as "wall time": milliseconds
 *   since 1970-01-01T00:00 on the zone's own clock, so calendar arithmetic ("the same time three
 *   days later", "twelve wall-clock hours later") is plain addition, and only the final step
 *   resolves a reading to an instant.
 * - A reading that does not exist (the spring-forward gap, e.g. 02:30 Europe/Berlin on
 *   2026-03-29) resolves to the same reading shifted forward by the gap length: 02:30 → 03:30
 *   CEST. That is the instant the clock would show had it not jumped, and it is what luxon does.
 * - A reading that exists twice (fall-back, e.g. 02:30 Europe/Berlin on 2026-10-25) resolves to
 *   the FIRST occurrence, the earlier instant with the summer-time offset (02:30+02:00).
 *   Luxon's `DateTime.fromObject` does not guarantee this: it seeds its guess with the zone's
 *   offset at the current date (`Settings.now()`), so the same call answers +02:00 in summer and
 *   +01:00 in winter. We therefore resolve readings ourselves from luxon's zone offsets.
 *
 * Zone offsets come from luxon's `IANAZone.offset` (Intl under the hood, ~15 µs a call). They are
 * memoized in 6-hour buckets: a bucket whose two edges share an offset is taken to contain no
 * transition (tzdata never has two transitions within 6 hours), and a bucket whose edges differ
 * has its transition located once by bisection. The memo is invisible to callers: it only makes
 * the same answers cheap, which schedule lookups depend on.
 */
import { DateTime, IANAZone } from "luxon";
import type { Weekday } from "./types.ts";

/** A calendar date on a zone's wall clock; month and day are 1-based. */
export interface LocalDate {
	year: number;
	month: number;
	day: number;
}

/** A calendar date with its day of the week. */
export interface LocalDay extends LocalDate {
	weekday: Weekday;
}

/** A wall-clock time of day; hour 24 (minute 0) means the end of the day where allowed. */
export interface WallClock {
	hour: number;
	minute: number;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Indexed by `Date.getUTCDay()` (0 = Sunday). */
const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** Whether `zone` names a zone the runtime's tzdata knows (e.g. "Europe/Berlin", "UTC"). */
export function isValidZone(zone: string): boolean {
	return IANAZone.isValidZone(zone);
}

/**
 * Parses a strict "HH:MM" (00:00–23:59). "24:00" is accepted only with `allowEndOfDay`, for the
 * end of a window that closes at midnight. Returns undefined for anything else.
 */
export function parseWallClock(text: string, options: { allowEndOfDay?: boolean } = {}): WallClock | undefined {
	const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
	if (match) return { hour: Number(match[1]), minute: Number(match[2]) };
	if (options.allowEndOfDay && text === "24:00") return { hour: 24, minute: 0 };
	return undefined;
}

/** The wall time of `time` on `date`; hour 24 is midnight at the end of that date. */
export function wallTimeOf(date: LocalDate, time: WallClock = { hour: 0, minute: 0 }): number {
	return Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute);
}

/** The wall time `zone`'s clock shows at `at`. */
export function wallTimeAt(at: Date, zone: string): number {
	const ms = at.getTime();
	return ms + offsetMinutesAt(offsetTableFor(zone), ms) * MINUTE_MS;
}

/**
 * The instant at which `zone`'s clock shows `wallTime`: a skipped reading is shifted forward by
 * the gap, a repeated one resolves to its first occurrence (see the top of this file).
 */
export function instantOfWallTime(wallTime: number, zone: string): Date {
	const table = offsetTableFor(zone);
	// Offsets a day either side bracket any transition near this reading.
	const offsetBefore = offsetMinutesAt(table, wallTime - DAY_MS);
	const offsetAfter = offsetMinutesAt(table, wallTime + DAY_MS);
	const candidateBefore = wallTime - offsetBefore * MINUTE_MS;
	const candidateAfter = wallTime - offsetAfter * MINUTE_MS;
	const beforeShows = offsetMinutesAt(table, candidateBefore) === offsetBefore;
	const afterShows = offsetMinutesAt(table, candidateAfter) === offsetAfter;
	if (beforeShows && afterShows) return new Date(Math.min(candidateBefore, candidateAfter));
	if (afterShows) return new Date(candidateAfter);
	// Either only the old offset shows this reading, or nothing does (a gap): reading the clock
	// with the old offset is exactly "shifted forward by the gap length".
	return new Date(candidateBefore);
}

/** The instant at which `zone`'s clock shows `time` on `date` (rules at the top of this file). */
export function atWallClock(date: LocalDate, time: WallClock, zone: string): Date {
	return instantOfWallTime(wallTimeOf(date, time), zone);
}

/** The calendar date `zone`'s clock shows at `at`. */
export function localDate(at: Date, zone: string): LocalDay {
	return dayOfWallTime(wallTimeAt(at, zone));
}

/** The calendar date containing `wallTime`. */
export function dayOfWallTime(wallTime: number): LocalDay {
	const reading = new Date(wallTime);
	return {
		year: reading.getUTCFullYear(),
		month: reading.getUTCMonth() + 1,
		day: reading.getUTCDate(),
		weekday: WEEKDAYS[reading.getUTCDay()]!,
	};
}

/** `date` moved by `days` calendar days (negative moves back). */
export function addDays(date: LocalDate, days: number): LocalDate {
	const { year, month, day } = dayOfWallTime(wallTimeOf(date) + days * DAY_MS);
	return { year, month, day };
}

/** Whole calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
	return Math.round((wallTimeOf(to) - wallTimeOf(from)) / DAY_MS);
}

/** The day of the week of a calendar date. */
export function weekdayOf(date: LocalDate): Weekday {
	return dayOfWallTime(wallTimeOf(date)).weekday;
}

/**
 * `at` as ISO 8601 on `zone`'s clock with its offset, e.g. "2026-03-29T09:00:00+02:00"
 * (milliseconds only when non-zero; the zone "UTC" itself is written with "Z").
 */
export function formatInZone(at: Date, zone: string): string {
	const text = DateTime.fromJSDate(at, { zone }).toISO({ suppressMilliseconds: true });
	if (text === null) throw new RangeError(`Cannot format ${at.toISOString()} in time zone "${zone}"`);
	return text;
}

const BUCKET_MS = 6 * HOUR_MS;
/** A memo never grows past this many entries per zone (about 68 years of buckets). */
const MAX_MEMO_ENTRIES = 100_000;

interface OffsetTable {
	zone: IANAZone;
	/** Offset in minutes at the start of each bucket, by bucket number. */
	edges: Map<number, number>;
	/** The first instant with the new offset, for buckets that contain a transition. */
	transitions: Map<number, number>;
}

const offsetTables = new Map<string, OffsetTable>();

/** Throws RangeError for a zone the runtime doesn't know: computing with it would give NaN. */
function offsetTableFor(zone: string): OffsetTable {
	let table = offsetTables.get(zone);
	if (table === undefined) {
		if (!isValidZone(zone)) throw new RangeError(`Unknown time zone "${zone}"`);
		table = { zone: IANAZone.create(zone), edges: new Map(), transitions: new Map() };
		offsetTables.set(zone, table);
	}
	return table;
}

function offsetMinutesAt(table: OffsetTable, ms: number): number {
	const bucket = Math.floor(ms / BUCKET_MS);
	const atStart = edgeOffset(table, bucket);
	const atEnd = edgeOffset(table, bucket + 1);
	if (atStart === atEnd) return atStart;
	return ms < transitionIn(table, bucket, atStart) ? atStart : atEnd;
}

function edgeOffset(table: OffsetTable, bucket: number): number {
	let offset = table.edges.get(bucket);
	if (offset === undefined) {
		if (table.edges.size >= MAX_MEMO_ENTRIES) table.edges.clear();
		offset = table.zone.offset(bucket * BUCKET_MS);
		table.edges.set(bucket, offset);
	}
	return offset;
}

/** Bisects to the whole second at which the offset leaves `offsetAtStart` (tzdata's precision). */
function transitionIn(table: OffsetTable, bucket: number, offsetAtStart: number): number {
	let transition = table.transitions.get(bucket);
	if (transition === undefined) {
		let unchanged = bucket * BUCKET_MS;
		let changed = unchanged + BUCKET_MS;
		while (changed - unchanged > 1000) {
			const middle = unchanged + Math.floor((changed - unchanged) / 2000) * 1000;
			if (table.zone.offset(middle) === offsetAtStart) unchanged = middle;
			else changed = middle;
		}
		if (table.transitions.size >= MAX_MEMO_ENTRIES) table.transitions.clear();
		transition = changed;
		table.transitions.set(bucket, transition);
	}
	return transition;
}
