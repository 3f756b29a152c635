/** A day of the week, as restriction windows name them. */
export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/** A weekly window in the layer's zone; end <= start means it runs past midnight (e.g. 22:00–06:00). "24:00" is allowed as end. */
export interface Restriction {
	/** The days on which a window starts; a window that runs past midnight belongs to the day it starts. */
	days: Weekday[];
	/** Wall-clock "HH:MM" at which the window opens. */
	start: string;
	/** Wall-clock "HH:MM" at which the window closes; "24:00" is the end of the day. */
	end: string;
}

/** The unit of a layer's shift length. */
export type ShiftUnit = "hours" | "days" | "weeks";

/** One rotation of people, optionally limited to weekly windows. */
export interface Layer {
	id: string;
	name: string;
	/** Higher position wins where layers overlap. */
	position: number;
	/** Member ids in rotation order; never empty. */
	participants: string[];
	/** How long each person's shift lasts, in wall-clock units of the layer's zone. */
	shiftLength: { unit: ShiftUnit; count: number };
	/** Wall-clock "HH:MM" at which shifts change, in `timeZone` (or the roster's zone when null). */
	handoffTime: string;
	/** IANA zone of the handoff and restrictions; null means the roster's zone. */
	timeZone: string | null;
	/** The rotation starts at the first handoff at or after this instant; participants[0] takes that shift. */
	start: Date;
	/** Empty: the layer covers all the time. Otherwise only inside these windows (interpreted in the layer's zone). */
	restrictions: Restriction[];
	/**
	 * A calendar layer (imported from iCalendar) lists its shifts instead of rotating: these replace
	 * the rotation, restrictions still apply. Null for a rotation.
	 */
	calendar: CalendarShift[] | null;
}

/** One explicit shift of a calendar layer. */
export interface CalendarShift {
	memberId: string;
	start: Date;
	end: Date;
}

/** A member who takes over everything in [from, until), whatever the layers say. */
export interface Override {
	id: string;
	memberId: string;
	from: Date;
	until: Date;
}

/** Everything needed to compute who is on call: no ids of the roster itself, no I/O. */
export interface RosterSpec {
	/** IANA zone used by layers whose own `timeZone` is null. */
	timeZone: string;
	layers: Layer[];
	overrides: Override[];
}

/** Where a piece of the timeline comes from. */
export type ShiftSource =
	| { kind: "layer"; layerId: string; layerName: string }
	| { kind: "override"; overrideId: string };

/** One member on call over [start, end). */
export interface Shift {
	memberId: string;
	start: Date;
	end: Date;
	source: ShiftSource;
}

/** Who is on call at an instant, and the continuous piece of the timeline they hold. */
export interface OnCall {
	memberId: string;
	source: ShiftSource;
	shiftStart: Date;
	shiftEnd: Date;
}

/** An interval [start, end) in which nobody is on call. */
export interface Gap {
	start: Date;
	end: Date;
}
