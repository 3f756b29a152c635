/**
 * Validates a TTL and rounds it up to whole milliseconds, which is what Redis's PX accepts; both
 * backends round the same way so an entry never lives shorter than asked.
 */
export function toTtlMs(ttlMs: number): number {
	if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
		throw new Error(`Cache TTL must be a positive number of milliseconds, got ${ttlMs}`);
	}
	return Math.ceil(ttlMs);
}

/** INCRBY only takes integers; rejecting others up front keeps both backends identical. */
export function assertIncrement(by: number): void {
	if (!Number.isSafeInteger(by)) {
		throw new Error(`Cache increment must be a safe integer, got ${by}`);
	}
}

export function closedError(): Error {
	return new Error("Cache is closed");
}
