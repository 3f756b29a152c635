import { lruCache } from "../platform/lru.ts";

/** An event the UI reads as "refetch this alert": its count and its last-seen time have moved. */
export interface AlertUpdated {
	type: "alert.updated";
	alertId: string;
	fingerprint: string;
	change: "repeated";
}

/**
 * Picks the alerts that repeats changed to announce as `alert.updated`: each at most once per
 * `intervalMs` per process. A storm repeats a few alerts thousands of times a second; a message for each
 * would flood the bus and every open event stream, and a view refreshed more often than
 * `lastSeenAt` moves (to the second) shows nothing new.
 */
export function createRepeatAnnouncer({
	intervalMs = 1000,
	alerts = 10_000,
}: {
	intervalMs?: number;
	alerts?: number;
} = {}): (
	results: readonly { fingerprint: string; alertId: string | null; outcome: string }[],
	atMs: number,
) => AlertUpdated[] | undefined {
	// When each alert was last announced; the least recently announced are forgotten first.
	const announcedAt = lruCache<string, number>(alerts);
	return (results, atMs) => {
		// Made only when there is something to announce: most requests of a storm have nothing.
		let events: AlertUpdated[] | undefined;
		for (const { fingerprint, alertId, outcome } of results) {
			if (outcome !== "deduplicated" || alertId === null) continue;
			const last = announcedAt.get(alertId);
			if (last !== undefined && atMs - last < intervalMs) continue;
			announcedAt.set(alertId, atMs);
			if (!events) events = [];
			events.push({ type: "alert.updated", alertId, fingerprint, change: "repeated" });
		}
		return events;
	};
}
