import type { Clock } from "../../src/platform/clock.ts";

/** A clock tests move by hand; every move wakes what sleeps until an instant (the engine's loops). */
export interface TestClock extends Clock {
	/** Moves forward by milliseconds or a duration such as "5m", "90s", "2h". */
	advance(by: number | string): void;
	set(at: Date): void;
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
	const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
	if (!match) throw new Error(`not a duration: ${text} (use e.g. 500ms, 90s, 5m, 2h)`);
	return Number(match[1]) * units[match[2]!]!;
}

export function createTestClock(start: Date): TestClock {
	let now = start.getTime();
	const listeners = new Set<() => void>();
	const jump = () => {
		for (const listener of listeners) listener();
	};
	return {
		now: () => new Date(now),
		onJump(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		advance(by) {
			now += typeof by === "number" ? by : parseDuration(by);
			jump();
		},
		set(at) {
			now = at.getTime();
			jump();
		},
	};
}
