import { randomUUID } from "node:crypto";

/**
 * A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix milliseconds, then random bits, the
 * layout of the database's `uuid7()` (migration 0014). Rows keyed by it append at the right edge
 * of their primary key instead of landing on a random leaf.
 */
export function timeOrderedId(at: Date = new Date()): string {
	const millis = at.getTime().toString(16).padStart(12, "0");
	// A v4 UUID's random bits, with its version nibble (index 14) replaced by 7; the variant stays.
	const random = randomUUID();
	return `${millis.slice(0, 8)}-${millis.slice(8, 12)}-7${random.slice(15)}`;
}
