/** The only source of "now" for domain code, so tests can move time. */
export interface Clock {
	now(): Date;
	/**
	 * A test clock announces its jumps, so code sleeping until an instant re-checks at once; the
	 * system clock never jumps, and leaves this out.
	 */
	onJump?(listener: () => void): () => void;
}

export const systemClock: Clock = { now: () => new Date() };
