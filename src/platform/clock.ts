/** The only source of "now" for domain code, so tests can move time. */
export interface Clock {
	now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
