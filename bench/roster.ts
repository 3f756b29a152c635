/**
 * `npm run bench:roster`: who is on call, and a year's calendar export, computed by OpsWatch's own
 * roster code (src/roster/schedule.ts, src/roster/ical.ts) for one realistic follow-the-sun roster:
 * 5 layers in 5 zones (weekly, daily and 12-hour shifts, some limited to weekday office hours),
 * 20 members and 200 overrides of 2–48 hours over the year, some overlapping. Pure computation: no
 * database, no servers. Writes bench/results/roster.json.
 *
 * - on-call lookup: `onCallAt` for 10,000 random instants of the year, one at a time, after a warm-up;
 *   `nextOnCall` for the same instants.
 * - baseline, in the same run (the machines are noisy, so compare ratios): the naive lookup that
 *   computes the whole year's `timeline` and scans it for the instant, on the first 300 instants.
 * - year export: the year's `timeline` plus `rosterCalendar` (iCalendar text), median of 5 runs.
 *
 * Targets: on-call lookup p99 < 1 ms, year export < 100 ms. Instants, layers and overrides come from a
 * seeded PRNG (same roster shape and instants every run); member and roster ids are random UUIDs.
 */
import { randomUUID } from "node:crypto";
import { rosterCalendar } from "../src/roster/ical.ts";
import { nextOnCall, onCallAt, timeline } from "../src/roster/schedule.ts";
import type { RosterRecord } from "../src/roster/store.ts";
import type { Layer, Override, RosterSpec, Shift } from "../src/roster/types.ts";
import type { Member } from "../src/tenant/index.ts";
import { percentile, round2, seededRandom, writeResults } from "./lib.ts";

const seed = 20_260_101;
const memberCount = 20;
const overrideCount = 200;
const lookups = 10_000;
const warmUp = 500;
const naiveLookups = 300;
const naiveWarmUp = 10;
const exportRuns = 5;
/** The year looked up and exported: fixed, so every run computes the same calendar year. */
const yearFrom = new Date(Date.UTC(2026, 0, 1));
const yearTo = new Date(Date.UTC(2027, 0, 1));
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const YEAR_MS = yearTo.getTime() - yearFrom.getTime();

// --- Deterministic generation (same roster shape and instants every run) ----------------------------

const { random, pick } = seededRandom(seed);

const firstNames = ["Ada", "Bram", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jun"];
const lastNames = ["Kowalski", "Lindqvist", "Mehta", "Nakamura", "Okafor", "Pereira", "Quinn", "Rossi"];
const memberZones = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"];

function generateMembers(): Member[] {
	const createdAt = new Date(yearFrom.getTime() - 400 * DAY_MS);
	return Array.from({ length: memberCount }, (_, i) => {
		const name = `${firstNames[i % firstNames.length]} ${lastNames[(i * 3) % lastNames.length]}`;
		const email = `${name.toLowerCase().replace(" ", ".")}@example.com`;
		return {
			id: randomUUID(),
			name,
			role: "engineer",
			email,
			timeZone: memberZones[i % memberZones.length]!,
			contactMethods: [
				{ type: "slack", value: `U${(100_000 + i).toString(36).toUpperCase()}` },
				{ type: "email", value: email },
			],
			notificationRules: [],
			version: 1,
			createdAt,
			updatedAt: createdAt,
		};
	});
}

/** A rotation start 1–3 years before the year, at an arbitrary minute (the first handoff follows it). */
function pastStart(): Date {
	const yearsBack = 1 + random() * 2;
	return new Date(Math.floor((yearFrom.getTime() - yearsBack * 365 * DAY_MS) / 60_000) * 60_000);
}

const weekdays = ["mon", "tue", "wed", "thu", "fri"] as const;

/**
 * Follow-the-sun: a weekly Berlin rotation covers all the time; on weekdays the Sydney, Kolkata and
 * New York office-hours layers take over during their local day; on weekends a 12-hour UTC rotation
 * takes over from the weekly one.
 */
function generateLayers(members: Member[]): Layer[] {
	const ids = members.map((member) => member.id);
	return [
		{
			id: randomUUID(),
			name: "Primary (weekly, Berlin)",
			position: 0,
			participants: ids.slice(0, 6),
			shiftLength: { unit: "weeks", count: 1 },
			handoffTime: "10:00",
			timeZone: "Europe/Berlin",
			start: pastStart(),
			restrictions: [],
			calendar: null,
		},
		{
			id: randomUUID(),
			name: "Americas office hours (daily, New York)",
			position: 2,
			participants: ids.slice(6, 10),
			shiftLength: { unit: "days", count: 1 },
			handoffTime: "09:00",
			timeZone: "America/New_York",
			start: pastStart(),
			restrictions: [{ days: [...weekdays], start: "09:00", end: "17:00" }],
			calendar: null,
		},
		{
			id: randomUUID(),
			name: "APAC office hours (daily, Sydney)",
			position: 2,
			participants: ids.slice(10, 14),
			shiftLength: { unit: "days", count: 1 },
			handoffTime: "08:30",
			timeZone: "Australia/Sydney",
			start: pastStart(),
			restrictions: [{ days: [...weekdays], start: "08:30", end: "17:30" }],
			calendar: null,
		},
		{
			id: randomUUID(),
			name: "India office hours (12 h, Kolkata)",
			position: 2,
			participants: ids.slice(14, 18),
			shiftLength: { unit: "hours", count: 12 },
			handoffTime: "08:00",
			timeZone: "Asia/Kolkata",
			start: pastStart(),
			restrictions: [
				{ days: ["mon", "tue", "wed", "thu"], start: "09:00", end: "18:00" },
				{ days: ["fri"], start: "09:00", end: "15:00" },
			],
			calendar: null,
		},
		{
			id: randomUUID(),
			name: "Weekend (12 h, UTC)",
			position: 1,
			// Two of its four also take part in the weekly rotation.
			participants: [ids[18]!, ids[19]!, ids[0]!, ids[3]!],
			shiftLength: { unit: "hours", count: 12 },
			handoffTime: "08:00",
			timeZone: "UTC",
			start: pastStart(),
			restrictions: [{ days: ["sat", "sun"], start: "00:00", end: "24:00" }],
			calendar: null,
		},
	];
}

/**
 * 200 overrides of 2–48 hours (quarter-hour aligned) scattered over the year; every eighth starts
 * inside the previous one, on top of the overlaps that random placement produces anyway.
 */
function generateOverrides(members: Member[]): Override[] {
	const quarter = 15 * 60_000;
	const overrides: Override[] = [];
	for (let i = 0; i < overrideCount; i++) {
		const previous = overrides.at(-1);
		const hours = 2 + random() * 46;
		const from =
			previous !== undefined && i % 8 === 0
				? previous.from.getTime() + random() * (previous.until.getTime() - previous.from.getTime())
				: yearFrom.getTime() + random() * (YEAR_MS - hours * HOUR_MS);
		const fromMs = Math.floor(from / quarter) * quarter;
		const untilMs = fromMs + Math.max(2 * HOUR_MS, Math.round((hours * HOUR_MS) / quarter) * quarter);
		overrides.push({ id: randomUUID(), memberId: pick(members).id, from: new Date(fromMs), until: new Date(untilMs) });
	}
	return overrides;
}

/** Overrides that overlap at least one other override. */
function overlappingOverrides(overrides: Override[]): number {
	return overrides.filter((a) =>
		overrides.some((b) => a !== b && a.from.getTime() < b.until.getTime() && b.from.getTime() < a.until.getTime()),
	).length;
}

const randomInstant = () => new Date(yearFrom.getTime() + Math.floor(random() * YEAR_MS));

// --- Measurement ----------------------------------------------------------------------------------

interface Measured<R> {
	p50: number;
	p99: number;
	max: number;
	results: R[];
}

/** Runs `run` on each item one after another, timing each call, after a warm-up on other items. */
function measure<T, R>(name: string, warm: T[], items: T[], run: (item: T) => R): Measured<R> {
	for (const item of warm) run(item);
	const samples: number[] = [];
	const results: R[] = [];
	for (const item of items) {
		const started = performance.now();
		const result = run(item);
		samples.push(performance.now() - started);
		results.push(result);
	}
	const measured = {
		p50: percentile(samples, 50, 3),
		p99: percentile(samples, 99, 3),
		max: percentile(samples, 100, 3),
		results,
	};
	console.log(
		`  ${name.padEnd(40)} p50 ${measured.p50.toFixed(3).padStart(9)} ms  p99 ${measured.p99.toFixed(3).padStart(9)} ms` +
			`  max ${measured.max.toFixed(3).padStart(9)} ms  (${items.length.toLocaleString("en")})`,
	);
	return measured;
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The naive lookup: the whole year's timeline, scanned for the piece containing `at`. */
function naiveOnCall(roster: RosterSpec, at: Date): Shift | undefined {
	const atMs = at.getTime();
	return timeline(roster, yearFrom, yearTo).find(
		(shift) => shift.start.getTime() <= atMs && shift.end.getTime() > atMs,
	);
}

function main(): void {
	const members = generateMembers();
	const layers = generateLayers(members);
	const overrides = generateOverrides(members);
	const spec: RosterSpec = { timeZone: "Europe/Berlin", layers, overrides };
	const createdAt = new Date(yearFrom.getTime() - 3 * 365 * DAY_MS);
	const record: RosterRecord = {
		id: randomUUID(),
		name: "Platform follow-the-sun",
		description: "Weekly primary in Berlin, weekday office hours in Sydney, Kolkata and New York, UTC weekends.",
		timeZone: spec.timeZone,
		version: 1,
		createdAt,
		updatedAt: createdAt,
		layers,
	};
	const people = new Map(members.map((member) => [member.id, member]));
	const overlapping = overlappingOverrides(overrides);

	const instants = Array.from({ length: lookups }, randomInstant);
	const warmInstants = Array.from({ length: warmUp }, randomInstant);
	const naiveInstants = instants.slice(0, naiveLookups);

	console.log(
		`roster benchmark: ${layers.length} layers, ${members.length} members, ${overrides.length} overrides ` +
			`(${overlapping} overlapping another), year ${yearFrom.toISOString().slice(0, 10)} – ` +
			`${yearTo.toISOString().slice(0, 10)}, ${lookups.toLocaleString("en")} instants one at a time\n`,
	);

	console.log("latency");
	const lookup = measure("on call at (onCallAt)", warmInstants, instants, (at) => onCallAt(spec, at));
	const next = measure("next on call (nextOnCall)", warmInstants, instants, (at) => nextOnCall(spec, at));
	const naive = measure("baseline: year timeline + scan", warmInstants.slice(0, naiveWarmUp), naiveInstants, (at) =>
		naiveOnCall(spec, at),
	);

	// The two lookups must agree on who is on call (onCallAt cuts pieces at 45 days, so only the member
	// is compared, not the piece's bounds).
	let mismatches = 0;
	naive.results.forEach((shift, i) => {
		if (shift?.memberId !== lookup.results[i]?.memberId) mismatches++;
	});
	const nobodyOnCall = lookup.results.filter((found) => found === undefined).length;

	// Year export: the timeline, then the calendar; one warm-up, then the median of `exportRuns`.
	const timelineRuns: number[] = [];
	const icalRuns: number[] = [];
	const exportTotals: number[] = [];
	let shifts: Shift[] = [];
	let calendar = "";
	for (let run = 0; run <= exportRuns; run++) {
		const started = performance.now();
		shifts = timeline(spec, yearFrom, yearTo);
		const computed = performance.now();
		calendar = rosterCalendar(record, shifts, people);
		const rendered = performance.now();
		if (run === 0) continue;
		timelineRuns.push(computed - started);
		icalRuns.push(rendered - computed);
		exportTotals.push(rendered - started);
	}
	const events = calendar.match(/^BEGIN:VEVENT/gm)?.length ?? 0;
	if (events !== shifts.length) throw new Error(`calendar has ${events} events for ${shifts.length} shifts`);
	const overrideShifts = shifts.filter((shift) => shift.source.kind === "override").length;
	const yearTimelineMs = round2(median(timelineRuns));
	const yearIcalMs = round2(median(icalRuns));
	const yearExportMs = round2(median(exportTotals));
	console.log(
		`  ${"year export (timeline + rosterCalendar)".padEnd(40)} median ${yearExportMs.toFixed(2).padStart(7)} ms` +
			`  [timeline ${yearTimelineMs} ms, iCalendar ${yearIcalMs} ms] of ${exportRuns} runs`,
	);

	const results: Record<string, number> = {
		oncall_lookup_p50_ms: lookup.p50,
		oncall_lookup_p99_ms: lookup.p99,
		year_export_ms: yearExportMs,
		naive_lookup_p50_ms: naive.p50,
		naive_lookup_p99_ms: naive.p99,
		lookup_speedup_ratio: round2(naive.p50 / lookup.p50),
		next_oncall_p99_ms: next.p99,
		year_shifts: shifts.length,
		// The details behind those.
		oncall_lookup_max_ms: lookup.max,
		next_oncall_p50_ms: next.p50,
		naive_to_oncall_p99_ratio: round2(naive.p99 / lookup.p99),
		year_timeline_ms: yearTimelineMs,
		year_ical_ms: yearIcalMs,
		year_export_min_ms: round2(Math.min(...exportTotals)),
		year_export_max_ms: round2(Math.max(...exportTotals)),
		year_override_shifts: overrideShifts,
		year_ical_bytes: Buffer.byteLength(calendar),
		lookups_nobody_on_call: nobodyOnCall,
		naive_lookups: naive.results.length,
		naive_mismatches: mismatches,
	};

	const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
	console.log("\nsummary");
	console.log(`  on-call lookup p99:    ${lookup.p99} ms (target < 1) ${mark(lookup.p99 < 1)}  [p50 ${lookup.p50} ms]`);
	console.log(
		`  year export:           ${yearExportMs} ms (target < 100) ${mark(yearExportMs < 100)}` +
			`  [timeline ${yearTimelineMs} ms + iCalendar ${yearIcalMs} ms, ${shifts.length} shifts, ` +
			`${(results.year_ical_bytes! / 1024).toFixed(0)} KiB]`,
	);
	console.log(
		`  naive p50 / onCallAt:  ${results.lookup_speedup_ratio} × (naive p50 ${naive.p50} ms, p99 ${naive.p99} ms; ` +
			"above 1 means onCallAt is faster)",
	);
	console.log(`  next on call p99:      ${next.p99} ms  [p50 ${next.p50} ms]`);
	console.log(
		`  agreement:             ${naiveLookups - mismatches} of ${naiveLookups} naive lookups name the same member ` +
			`(${nobodyOnCall} of ${lookups} instants have nobody on call)`,
	);
	if (mismatches > 0) console.log(`  MISMATCH: ${mismatches} naive lookups disagree with onCallAt`);

	const file = writeResults(
		"roster",
		"memory",
		{
			seed,
			year_from: yearFrom.toISOString(),
			year_to: yearTo.toISOString(),
			layers: layers.length,
			layer_shapes: layers.map(
				(layer) =>
					`${layer.timeZone ?? spec.timeZone} ${layer.shiftLength.count} ${layer.shiftLength.unit}` +
					(layer.restrictions.length ? " restricted" : ""),
			),
			members: members.length,
			overrides: overrides.length,
			overlapping_overrides: overlapping,
			lookups,
			warm_up: warmUp,
			naive_lookups: naiveLookups,
			naive_warm_up: naiveWarmUp,
			export_runs: exportRuns,
		},
		results,
	);
	console.log(`\nwrote ${file}`);
}

try {
	main();
} catch (error) {
	console.error(`bench:roster failed: ${(error as Error).message}`);
	process.exit(1);
}
