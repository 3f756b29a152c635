import ICAL from "ical.js";
import { AppError } from "../platform/errors.ts";

/** One event of an imported calendar, with what can tell whose shift it is. */
export interface ImportedEvent {
	start: Date;
	end: Date;
	summary: string;
	/** X-OPSWATCH-MEMBER (our own export), else nothing. */
	memberId: string | null;
	/** ATTENDEE and ORGANIZER addresses, lower case. */
	emails: string[];
}

/** Most events one import takes (recurring events expanded). */
export const MAX_IMPORTED_EVENTS = 10_000;

const notICalendar = (detail: string) =>
	new AppError("validation", "roster.not_icalendar", `The calendar is not iCalendar (RFC 5545): ${detail}`, {
		fields: [{ path: "body.ics", message: "is not an iCalendar file" }],
	});

const address = (value: unknown) =>
	typeof value === "string" && /^mailto:/i.test(value) ? value.slice(7).toLowerCase() : undefined;

/**
 * The events of an iCalendar text that overlap [from, to), recurring ones expanded (RRULE, EXDATE),
 * as exported by Google Calendar, Outlook, PagerDuty, Opsgenie and OpsWatch. All-day events count
 * from midnight to midnight in UTC, as floating dates have no zone to go by.
 */
export function parseCalendar(text: string, from: Date, to: Date): ImportedEvent[] {
	if (!/^\s*BEGIN:VCALENDAR/i.test(text)) throw notICalendar("it does not start with BEGIN:VCALENDAR");
	let calendar: ICAL.Component;
	try {
		calendar = new ICAL.Component(ICAL.parse(text));
	} catch (error) {
		throw notICalendar((error as Error).message);
	}
	const events: ImportedEvent[] = [];
	for (const component of calendar.getAllSubcomponents("vevent")) {
		const event = new ICAL.Event(component);
		if (!event.startDate) continue;
		const memberValue = component.getFirstPropertyValue("x-opswatch-member");
		const details = {
			summary: event.summary ?? "",
			memberId: typeof memberValue === "string" ? memberValue : null,
			emails: [
				...component.getAllProperties("attendee").map((p) => address(p.getFirstValue())),
				address(component.getFirstPropertyValue("organizer")),
			].filter((e): e is string => e !== undefined),
		};
		const durationMs = event.endDate
			? event.endDate.toJSDate().getTime() - event.startDate.toJSDate().getTime()
			: event.duration.toSeconds() * 1000;
		const add = (start: Date) => {
			const end = new Date(start.getTime() + durationMs);
			if (end > from && start < to && end > start) events.push({ start, end, ...details });
		};
		if (event.isRecurring()) {
			const occurrences = event.iterator();
			for (let next = occurrences.next(); next; next = occurrences.next()) {
				const start = next.toJSDate();
				if (start >= to) break;
				add(start);
				if (events.length > MAX_IMPORTED_EVENTS) break;
			}
		} else {
			add(event.startDate.toJSDate());
		}
		if (events.length > MAX_IMPORTED_EVENTS) {
			throw new AppError(
				"validation",
				"roster.calendar_too_large",
				`The calendar has more than ${MAX_IMPORTED_EVENTS} shifts in the window`,
				{
					fields: [{ path: "body.ics", message: `more than ${MAX_IMPORTED_EVENTS} events` }],
				},
			);
		}
	}
	return events.sort((a, b) => a.start.getTime() - b.start.getTime());
}
