/**
 * Who is on call, computed from a roster spec alone (pure: no clock, no database).
 *
 * The model (GoAlert's, with PagerDuty-style layers):
 * - A LAYER is a rotation. Its zone is `layer.timeZone ?? roster.timeZone`. The rotation's first
 *   boundary is the first `handoffTime` (local) at or after `layer.start`; participants[0] holds
 *   shift 0 from there, and shift k goes to participants[k % participants.length]. Before the first
 *   boundary the layer covers nothing.
 * - Shift lengths are WALL-CLOCK lengths in the layer's zone:
 *   - days/weeks: boundaries fall at `handoffTime` on every `count`-th (or 7·count-th) local date,
 *     so a 09:00 handoff stays 09:00 across DST and the shift spanning the change is 23 h or 25 h.
 *   - hours: boundaries are the first boundary's local reading plus k·count wall-clock hours, each
 *     resolved in the zone, so 12-hour shifts stay 08:00/20:00 and the shift spanning the change is
 *     11 h or 13 h. A shift lying wholly inside a skipped hour is empty (1-hour shifts only).
 *   - readings are resolved as in timezone.ts: a skipped reading moves forward by the gap (02:30 →
 *     03:30), a repeated one happens at its first occurrence (the summer-time one).
 *   Any shift is found directly from the instant (wall-clock arithmetic plus a ±1 correction), never
 *   by walking from `start`, so lookups cost the same years later.
 * - RESTRICTIONS clip a layer's shifts to weekly windows in the layer's zone; outside them the layer
 *   is absent and lower layers (or nobody) show through. A window starting on a listed day may run
 *   past midnight (end <= start, so "09:00"–"09:00" is a full 24 h) and may end at "24:00".
 * - OVERRIDES put their member on call over [from, until) above every layer. Where overrides
 *   overlap, the one that starts later wins (it was most likely added to patch the earlier one);
 *   equal starts: the one listed later wins. When it ends, the earlier override shows again.
 * - Layers: higher `position` wins where both cover; equal positions: the one listed first wins.
 * - The TIMELINE is the result: non-overlapping pieces in time order; neighbouring pieces with the
 *   same member and the same source are merged (a one-person layer is one long piece).
 *
 * Specs are expected to be validated where they come in (`isValidZone`, `parseWallClock`); here an
 * invalid one (unknown zone, bad "HH:MM", no participants, count < 1) throws RangeError rather than
 * quietly computing nonsense.
 */
import {
	addDays,
	DAY_MS,
	dayOfWallTime,
	daysBetween,
	formatInZone,
	HOUR_MS,
	instantOfWallTime,
	localDate,
	MINUTE_MS,
	parseWallClock,
	type WallClock,
	wallTimeAt,
	wallTimeOf,
} from "./timezone.ts";
import type { Gap, Layer, OnCall, Override, Restriction, RosterSpec, Shift, ShiftSource, Weekday } from "./types.ts";

/** `onCallAt` looks at most this far either side of the instant; longer pieces are cut here. */
export const ON_CALL_SEARCH_LIMIT_MS = 45 * DAY_MS;
/** `onCallAt` first looks this far either side of the instant. */
const LOOKUP_START_SPAN_MS = 6 * 60 * 60 * 1000;
/** `nextOnCall` looks at most this far ahead of the instant. */
export const NEXT_ON_CALL_HORIZON_MS = 90 * DAY_MS;

/** One unclipped shift of a layer's rotation (restrictions not applied). */
export interface RotationShift {
	/** 0 for the shift at the first boundary. */
	index: number;
	memberId: string;
	start: Date;
	end: Date;
}

/**
 * The rotation shift of `layer` containing `at`, ignoring restrictions; undefined before the first
 * boundary. Computed directly from `at`, whatever its distance from `layer.start`.
 */
export function rotationShiftAt(layer: Layer, rosterZone: string, at: Date): RotationShift | undefined {
	const rotation = rotationOf(layer, rosterZone);
	const index = shiftIndexAt(rotation, at.getTime());
	if (index < 0) return undefined;
	return {
		index,
		memberId: memberOf(rotation, index),
		start: new Date(boundaryAt(rotation, index)),
		end: new Date(boundaryAt(rotation, index + 1)),
	};
}

/** The shifts of one layer within [from, to), clipped to its restrictions and to the window; not merged. */
export function layerShifts(layer: Layer, rosterZone: string, from: Date, to: Date): Shift[] {
	return layerPieces(layer, rosterZone, from.getTime(), to.getTime()).map(toShift);
}

/**
 * The resolved timeline over [from, to): overrides over layers, layers by position, pieces of the
 * same member and source merged, every piece clipped to the window. Time nobody covers is absent.
 */
export function timeline(roster: RosterSpec, from: Date, to: Date): Shift[] {
	return resolvedPieces(roster, from.getTime(), to.getTime()).map(toShift);
}

/**
 * Who is on call at `at`, and the bounds of their continuous piece of the timeline. The timeline is
 * computed around `at` in a window that starts at 6 hours each side and doubles on a side while the
 * piece reaches that side, up to ON_CALL_SEARCH_LIMIT_MS (45 days): a piece longer than that reports
 * the limit as its start or end.
 */
export function onCallAt(roster: RosterSpec, at: Date): OnCall | undefined {
	const atMs = at.getTime();
	// Start small: with restricted or overridden layers the piece at `at` is usually hours long, and
	// the work grows with the window; a longer piece doubles the window on the side it reaches.
	let back = LOOKUP_START_SPAN_MS;
	let ahead = LOOKUP_START_SPAN_MS;
	for (;;) {
		const from = atMs - back;
		const to = atMs + ahead;
		const piece = resolvedPieces(roster, from, to).find((candidate) => candidate.end > atMs);
		if (piece === undefined || piece.start > atMs) return undefined;
		const cutAtStart = piece.start === from && back < ON_CALL_SEARCH_LIMIT_MS;
		const cutAtEnd = piece.end === to && ahead < ON_CALL_SEARCH_LIMIT_MS;
		if (!cutAtStart && !cutAtEnd) return toOnCall(piece);
		if (cutAtStart) back = Math.min(back * 2, ON_CALL_SEARCH_LIMIT_MS);
		if (cutAtEnd) ahead = Math.min(ahead * 2, ON_CALL_SEARCH_LIMIT_MS);
	}
}

/**
 * The next person on call after `at`: the first piece after the current one whose member differs
 * from the current member (pieces of the same member from another source are skipped), or the
 * first piece at all when nobody is on call at `at`. Searches NEXT_ON_CALL_HORIZON_MS (90 days)
 * ahead of `at`; a piece reaching the horizon reports it as its end.
 */
export function nextOnCall(roster: RosterSpec, at: Date): OnCall | undefined {
	const atMs = at.getTime();
	const current = onCallAt(roster, at);
	const searchFrom = current ? current.shiftEnd.getTime() : atMs;
	const horizon = atMs + NEXT_ON_CALL_HORIZON_MS;
	let span = 2 * initialSearchSpan(roster);
	while (searchFrom < horizon) {
		const to = Math.min(searchFrom + span, horizon);
		const next = resolvedPieces(roster, searchFrom, to).find(
			(piece) => current === undefined || piece.memberId !== current.memberId,
		);
		if (next !== undefined && (next.end < to || to === horizon)) return toOnCall(next);
		if (to === horizon) return undefined;
		span *= 2;
	}
	return undefined;
}

/** The intervals within [from, to) in which nobody is on call, in time order. */
export function gaps(roster: RosterSpec, from: Date, to: Date): Gap[] {
	const fromMs = from.getTime();
	const toMs = to.getTime();
	const found: Gap[] = [];
	let cursor = fromMs;
	for (const piece of resolvedPieces(roster, fromMs, toMs)) {
		if (piece.start > cursor) found.push({ start: new Date(cursor), end: new Date(piece.start) });
		cursor = piece.end;
	}
	if (cursor < toMs) found.push({ start: new Date(cursor), end: new Date(toMs) });
	return found;
}

/** A shift's bounds on `zone`'s clock, e.g. to show it in a participant's own zone. */
export function shiftsInZone(shift: Pick<Shift, "start" | "end">, zone: string): { start: string; end: string } {
	return { start: formatInZone(shift.start, zone), end: formatInZone(shift.end, zone) };
}

/** A shift with instants as epoch milliseconds, for cheap arithmetic inside this module. */
interface Piece {
	memberId: string;
	start: number;
	end: number;
	source: ShiftSource;
}

/** A candidate piece and how it ranks: the highest rank covering an instant wins it. */
interface RankedPiece extends Piece {
	rank: number;
}

interface Interval {
	start: number;
	end: number;
}

interface Rotation {
	zone: string;
	participants: string[];
	/** Wall time of the first boundary, as nominally read (before resolving a skipped reading). */
	firstBoundaryWallTime: number;
	/** Wall-clock length of one shift. */
	stepMs: number;
}

function rotationOf(layer: Layer, rosterZone: string): Rotation {
	const zone = layer.timeZone ?? rosterZone;
	const handoff = parseWallClock(layer.handoffTime);
	if (handoff === undefined)
		throw new RangeError(`Layer ${layer.id}: handoff time "${layer.handoffTime}" is not HH:MM`);
	if (layer.participants.length === 0) throw new RangeError(`Layer ${layer.id} has no participants`);
	const { count } = layer.shiftLength;
	if (!Number.isInteger(count) || count < 1)
		throw new RangeError(`Layer ${layer.id}: shift count must be a whole number ≥ 1`);
	let firstBoundaryWallTime = wallTimeOf(localDate(layer.start, zone), handoff);
	if (instantOfWallTime(firstBoundaryWallTime, zone) < layer.start) firstBoundaryWallTime += DAY_MS;
	return { zone, participants: layer.participants, firstBoundaryWallTime, stepMs: nominalShiftMs(layer) };
}

/** A shift's wall-clock length; real shifts differ from it only where they span a DST change. */
function nominalShiftMs(layer: Layer): number {
	const { unit, count } = layer.shiftLength;
	const unitMs = unit === "hours" ? HOUR_MS : unit === "days" ? DAY_MS : 7 * DAY_MS;
	return count * unitMs;
}

/** The instant (epoch ms) at which shift `index` starts. */
function boundaryAt(rotation: Rotation, index: number): number {
	return instantOfWallTime(rotation.firstBoundaryWallTime + index * rotation.stepMs, rotation.zone).getTime();
}

/** The index of the shift containing `atMs`, or -1 before the first boundary. */
function shiftIndexAt(rotation: Rotation, atMs: number): number {
	const elapsedWallTime = wallTimeAt(new Date(atMs), rotation.zone) - rotation.firstBoundaryWallTime;
	// Wall-clock arithmetic lands on the right shift or next to it: the reading at `atMs` and the
	// resolved boundaries differ by at most a DST shift, which the two loops absorb.
	let index = Math.max(-1, Math.floor(elapsedWallTime / rotation.stepMs));
	while (index >= 0 && boundaryAt(rotation, index) > atMs) index--;
	while (boundaryAt(rotation, index + 1) <= atMs) index++;
	return index;
}

function memberOf(rotation: Rotation, index: number): string {
	return rotation.participants[index % rotation.participants.length]!;
}

/** The rotation's shifts overlapping [fromMs, toMs), clipped to it. */
function rotationPieces(rotation: Rotation, source: ShiftSource, fromMs: number, toMs: number): Piece[] {
	const pieces: Piece[] = [];
	let index = Math.max(0, shiftIndexAt(rotation, fromMs));
	let start = boundaryAt(rotation, index);
	while (start < toMs) {
		const end = boundaryAt(rotation, index + 1);
		const clippedStart = Math.max(start, fromMs);
		const clippedEnd = Math.min(end, toMs);
		if (clippedStart < clippedEnd) {
			pieces.push({ memberId: memberOf(rotation, index), start: clippedStart, end: clippedEnd, source });
		}
		index++;
		start = end;
	}
	return pieces;
}

function layerPieces(layer: Layer, rosterZone: string, fromMs: number, toMs: number): Piece[] {
	if (fromMs >= toMs) return [];
	const source: ShiftSource = { kind: "layer", layerId: layer.id, layerName: layer.name };
	const zone = layer.timeZone ?? rosterZone;
	const pieces = layer.calendar
		? calendarPieces(layer.calendar, source, fromMs, toMs)
		: rotationPieces(rotationOf(layer, rosterZone), source, fromMs, toMs);
	if (layer.restrictions.length === 0) return pieces;
	return clipToWindows(pieces, restrictionWindows(layer, zone, fromMs, toMs));
}

/** A calendar layer's listed shifts within [fromMs, toMs), in time order (overlaps: the later start wins). */
function calendarPieces(
	shifts: Layer["calendar"] & object,
	source: ShiftSource,
	fromMs: number,
	toMs: number,
): Piece[] {
	const pieces: Piece[] = [];
	const sorted = shifts
		.map((s) => ({
			memberId: s.memberId,
			start: Math.max(s.start.getTime(), fromMs),
			end: Math.min(s.end.getTime(), toMs),
		}))
		.filter((s) => s.start < s.end)
		.sort((a, b) => a.start - b.start);
	for (const [i, shift] of sorted.entries()) {
		const next = sorted[i + 1];
		const end = next ? Math.min(shift.end, next.start) : shift.end;
		if (shift.start < end) pieces.push({ memberId: shift.memberId, start: shift.start, end, source });
	}
	return pieces;
}

interface CompiledRestriction {
	days: ReadonlySet<Weekday>;
	start: WallClock;
	end: WallClock;
	runsPastMidnight: boolean;
}

function compileRestriction(layer: Layer, restriction: Restriction): CompiledRestriction {
	const start = parseWallClock(restriction.start);
	const end = parseWallClock(restriction.end, { allowEndOfDay: true });
	if (start === undefined || end === undefined) {
		throw new RangeError(`Layer ${layer.id}: restriction ${restriction.start}–${restriction.end} is not HH:MM–HH:MM`);
	}
	const runsPastMidnight = end.hour * 60 + end.minute <= start.hour * 60 + start.minute;
	return { days: new Set(restriction.days), start, end, runsPastMidnight };
}

/** The union of the layer's restriction windows overlapping [fromMs, toMs), sorted and disjoint. */
function restrictionWindows(layer: Layer, zone: string, fromMs: number, toMs: number): Interval[] {
	const restrictions = layer.restrictions.map((restriction) => compileRestriction(layer, restriction));
	// A window that opened the day before `from` may still be open.
	const firstDay = addDays(localDate(new Date(fromMs), zone), -1);
	const dayCount = daysBetween(firstDay, localDate(new Date(toMs), zone));
	const windows: Interval[] = [];
	for (let offset = 0; offset <= dayCount; offset++) {
		const dayStart = wallTimeOf(firstDay) + offset * DAY_MS;
		const { weekday } = dayOfWallTime(dayStart);
		for (const restriction of restrictions) {
			if (!restriction.days.has(weekday)) continue;
			const endDayStart = restriction.runsPastMidnight ? dayStart + DAY_MS : dayStart;
			const start = instantOfWallTime(dayStart + clockMs(restriction.start), zone).getTime();
			const end = instantOfWallTime(endDayStart + clockMs(restriction.end), zone).getTime();
			// A window wholly inside a skipped hour resolves to nothing.
			if (start < end && start < toMs && end > fromMs) windows.push({ start, end });
		}
	}
	return unionOf(windows);
}

function clockMs(time: WallClock): number {
	return time.hour * HOUR_MS + time.minute * MINUTE_MS;
}

function unionOf(intervals: Interval[]): Interval[] {
	const sorted = [...intervals].sort((a, b) => a.start - b.start);
	const union: Interval[] = [];
	for (const interval of sorted) {
		const last = union.at(-1);
		if (last !== undefined && interval.start <= last.end) last.end = Math.max(last.end, interval.end);
		else union.push({ ...interval });
	}
	return union;
}

/** Both inputs sorted and each disjoint: a merge walk, linear in their lengths. */
function clipToWindows(pieces: Piece[], windows: Interval[]): Piece[] {
	const clipped: Piece[] = [];
	let first = 0;
	for (const piece of pieces) {
		while (first < windows.length && windows[first]!.end <= piece.start) first++;
		for (let i = first; i < windows.length && windows[i]!.start < piece.end; i++) {
			const start = Math.max(piece.start, windows[i]!.start);
			const end = Math.min(piece.end, windows[i]!.end);
			if (start < end) clipped.push({ ...piece, start, end });
		}
	}
	return clipped;
}

/** Every candidate piece over [fromMs, toMs), ranked by the precedence described at the top. */
function rankedCandidates(roster: RosterSpec, fromMs: number, toMs: number): RankedPiece[] {
	const layersByPrecedence = roster.layers
		.map((layer, order) => ({ layer, order }))
		.sort((a, b) => a.layer.position - b.layer.position || b.order - a.order);
	const candidates: RankedPiece[] = [];
	layersByPrecedence.forEach(({ layer }, rank) => {
		// The pieces are fresh objects: rank them in place rather than copy each one.
		for (const piece of layerPieces(layer, roster.timeZone, fromMs, toMs)) {
			(piece as RankedPiece).rank = rank;
			candidates.push(piece as RankedPiece);
		}
	});
	// Filter before wrapping: a lookup touches a few of a roster's hundreds of overrides.
	const overridesByPrecedence: { override: Override; order: number }[] = [];
	roster.overrides.forEach((override, order) => {
		if (override.from.getTime() < toMs && override.until.getTime() > fromMs)
			overridesByPrecedence.push({ override, order });
	});
	overridesByPrecedence.sort((a, b) => a.override.from.getTime() - b.override.from.getTime() || a.order - b.order);
	overridesByPrecedence.forEach(({ override }, order) => {
		const piece = overridePiece(override, fromMs, toMs);
		// An override whose `until` is not after its `from` covers nothing.
		if (piece.start < piece.end) candidates.push({ ...piece, rank: layersByPrecedence.length + order });
	});
	return candidates;
}

function overridePiece(override: Override, fromMs: number, toMs: number): Piece {
	return {
		memberId: override.memberId,
		start: Math.max(override.from.getTime(), fromMs),
		end: Math.min(override.until.getTime(), toMs),
		source: { kind: "override", overrideId: override.id },
	};
}

/**
 * Sweeps the candidates' boundaries in time order; between two boundaries the highest-ranked
 * active candidate holds the time. Few candidates are active at once (one per layer plus
 * overlapping overrides), so this is O(n log n) in the number of candidates.
 */
function resolvedPieces(roster: RosterSpec, fromMs: number, toMs: number): Piece[] {
	if (fromMs >= toMs) return [];
	const candidates = rankedCandidates(roster, fromMs, toMs).sort((a, b) => a.start - b.start);
	// Sorted distinct boundaries, built without intermediate arrays (this runs on every lookup).
	const boundaries: number[] = [];
	for (const candidate of candidates) boundaries.push(candidate.start, candidate.end);
	boundaries.sort((a, b) => a - b);
	let distinct = 0;
	for (const boundary of boundaries)
		if (distinct === 0 || boundaries[distinct - 1] !== boundary) boundaries[distinct++] = boundary;
	boundaries.length = distinct;
	const resolved: Piece[] = [];
	const active: RankedPiece[] = [];
	let nextCandidate = 0;
	for (let i = 0; i + 1 < boundaries.length; i++) {
		const start = boundaries[i]!;
		const end = boundaries[i + 1]!;
		// In place: a lookup sweeps hundreds of boundaries, and a new array per boundary is GC churn.
		let kept = 0;
		for (const candidate of active) if (candidate.end > start) active[kept++] = candidate;
		active.length = kept;
		while (nextCandidate < candidates.length && candidates[nextCandidate]!.start === start) {
			active.push(candidates[nextCandidate]!);
			nextCandidate++;
		}
		const winner = highestRanked(active);
		if (winner !== undefined) appendMerged(resolved, { memberId: winner.memberId, start, end, source: winner.source });
	}
	return resolved;
}

function highestRanked(active: RankedPiece[]): RankedPiece | undefined {
	let best: RankedPiece | undefined;
	for (const candidate of active) if (best === undefined || candidate.rank > best.rank) best = candidate;
	return best;
}

function appendMerged(resolved: Piece[], piece: Piece): void {
	const last = resolved.at(-1);
	if (
		last !== undefined &&
		last.end === piece.start &&
		last.memberId === piece.memberId &&
		sameSource(last.source, piece.source)
	) {
		last.end = piece.end;
	} else {
		resolved.push(piece);
	}
}

function sameSource(a: ShiftSource, b: ShiftSource): boolean {
	if (a.kind === "layer") return b.kind === "layer" && a.layerId === b.layerId;
	return b.kind === "override" && a.overrideId === b.overrideId;
}

/** The longest nominal shift among the layers plus DST slack, at least a day: most pieces fit. */
function initialSearchSpan(roster: RosterSpec): number {
	let longest = DAY_MS;
	// DST makes a real shift up to a couple of hours longer than nominal.
	for (const layer of roster.layers) longest = Math.max(longest, nominalShiftMs(layer) + 3 * HOUR_MS);
	return Math.min(longest, ON_CALL_SEARCH_LIMIT_MS);
}

function toShift(piece: Piece): Shift {
	return { memberId: piece.memberId, start: new Date(piece.start), end: new Date(piece.end), source: piece.source };
}

function toOnCall(piece: Piece): OnCall {
	return {
		memberId: piece.memberId,
		source: piece.source,
		shiftStart: new Date(piece.start),
		shiftEnd: new Date(piece.end),
	};
}
