import { timeline } from "./schedule.ts";
import type { RosterSpec } from "./types.ts";

/** A change of who is on call: `incoming` takes over from `outgoing` at `at` (null: nobody). */
export interface Handoff {
	at: Date;
	incomingMemberId: string | null;
	outgoingMemberId: string | null;
	/** When the incoming person's piece of the timeline ends (null when nobody comes in). */
	shiftEnd: Date | null;
}

/** How far before a window the timeline is read, to know who was on call as it opens. */
const LOOKBACK_MS = 86_400_000;
/** How far after it, to tell the incoming person when their shift ends (longer shifts end "later"). */
const LOOKAHEAD_MS = 31 * 86_400_000;

/**
 * The handoffs in (from, to]: every instant where the person on call changes, including to and
 * from nobody. A change of source with the same person (their layer shift, then their own
 * override) is no handoff: nobody needs telling. A shift longer than a month reports its end as
 * the month's end.
 */
export function handoffsBetween(roster: RosterSpec, from: Date, to: Date): Handoff[] {
	const fromMs = from.getTime();
	const toMs = to.getTime();
	const horizon = toMs + LOOKAHEAD_MS;
	const pieces = timeline(roster, new Date(fromMs - LOOKBACK_MS), new Date(horizon));
	const found: Handoff[] = [];
	let covering: string | null = null;
	let coveredUntil = Number.NEGATIVE_INFINITY;
	const record = (atMs: number, incoming: string | null, until: number | null) => {
		if (atMs > fromMs && atMs <= toMs && incoming !== covering) {
			found.push({
				at: new Date(atMs),
				incomingMemberId: incoming,
				outgoingMemberId: covering,
				shiftEnd: until === null ? null : new Date(until),
			});
		}
	};
	for (const [i, piece] of pieces.entries()) {
		const start = piece.start.getTime();
		if (start > coveredUntil) {
			// A gap before this piece: the previous person handed over to nobody.
			record(coveredUntil, null, null);
			covering = null;
		}
		// The incoming person's coverage runs on through following pieces that are theirs too.
		let until = piece.end.getTime();
		for (const next of pieces.slice(i + 1)) {
			if (next.start.getTime() !== until || next.memberId !== piece.memberId) break;
			until = next.end.getTime();
		}
		record(start, piece.memberId, until);
		covering = piece.memberId;
		coveredUntil = piece.end.getTime();
	}
	if (coveredUntil < horizon) record(coveredUntil, null, null);
	return found;
}
