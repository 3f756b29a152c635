import { createHash } from "node:crypto";
import ical, { ICalEventTransparency } from "ical-generator";
import type { Member } from "../tenant/index.ts";
import type { RosterRecord } from "./store.ts";
import type { Shift } from "./types.ts";

/**
 * A roster's shifts as an RFC 5545 calendar: one VEVENT per continuous shift. The UID depends only on
 * the roster, the person and the shift's start, so a calendar client that re-fetches the feed
 * updates events in place instead of duplicating them. Times are UTC; clients show them in their zone.
 */
export function rosterCalendar(roster: RosterRecord, shifts: Shift[], people: Map<string, Member>): string {
	const calendar = ical({
		name: `On call: ${roster.name}`,
		prodId: { company: "OpsWatch", product: "rosters", language: "EN" },
	});
	for (const shift of shifts) {
		const person = people.get(shift.memberId);
		const name = person?.name ?? shift.memberId;
		const from = shift.source.kind === "override" ? "override" : `layer ${shift.source.layerName}`;
		calendar.createEvent({
			id: `${createHash("sha256")
				.update(`${roster.id}|${shift.memberId}|${shift.start.toISOString()}`)
				.digest("hex")
				.slice(0, 32)}@opswatch`,
			start: shift.start,
			end: shift.end,
			stamp: shift.start,
			summary: `On call: ${name} (${roster.name})`,
			description: `${name} is on call for ${roster.name} (${from}).`,
			transparency: ICalEventTransparency.TRANSPARENT,
			x: { "X-OPSWATCH-MEMBER": shift.memberId },
		});
	}
	return calendar.toString();
}
