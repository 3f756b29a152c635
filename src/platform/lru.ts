import { LRUCache } from "lru-cache";

/**
 * An LRU cache of at most `entries` entries whose memory grows with use. lru-cache reserves room
 * for `max` entries up front (arrays of `max` slots, and two more with a TTL): the ten caches a
 * process keeps would hold about 5 MiB before their first entry, 4% of the 128 MiB budget
 * (spec §7.3). Bounding by `maxSize` with every entry counted as 1 keeps the same bound without
 * the reservation.
 */
export function lruCache<K extends {}, V extends {}>(
	entries: number,
	options: Omit<LRUCache.Options<K, V, unknown>, "max" | "maxSize" | "sizeCalculation"> = {},
): LRUCache<K, V> {
	return new LRUCache<K, V>({ ...options, maxSize: entries, sizeCalculation: () => 1 });
}
