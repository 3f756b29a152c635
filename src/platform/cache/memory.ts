import { lruCache } from "../lru.ts";
import { assertIncrement, closedError, toTtlMs } from "./shared.ts";
import type { Cache } from "./types.ts";

/** Default bound on {@link createMemoryCache}'s entry count. */
export const DEFAULT_MAX_ENTRIES = 100_000;

/** Options for {@link createMemoryCache}. */
export interface MemoryCacheOptions {
	/** Entries kept before the least recently used is evicted; defaults to {@link DEFAULT_MAX_ENTRIES}. */
	maxEntries?: number;
}

/** What Redis INCRBY accepts as an integer: no sign on zero, no leading zeros. */
const INTEGER = /^(0|-?[1-9]\d*)$/;

/**
 * An in-process {@link Cache} for single-process deployments and tests. Bounded, so a flood of
 * distinct keys (say, alert fingerprints) evicts old entries instead of exhausting memory.
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
	const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
	if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
		throw new Error(`maxEntries must be a positive integer, got ${maxEntries}`);
	}
	// Expiry is checked against the clock on every read (allowStale is off), so an expired entry
	// is never returned even though nothing purges it in the background.
	const store = lruCache<string, string>(maxEntries);
	let closed = false;

	const assertOpen = () => {
		if (closed) throw closedError();
	};

	return {
		async get(key) {
			assertOpen();
			return store.get(key);
		},

		async getMany(keys) {
			assertOpen();
			return keys.map((key) => store.get(key));
		},

		async set(key, value, ttlMs) {
			assertOpen();
			store.set(key, value, { ttl: toTtlMs(ttlMs) });
		},

		async setMany(entries, ttlMs) {
			assertOpen();
			const ttl = toTtlMs(ttlMs);
			for (const { key, value } of entries) store.set(key, value, { ttl });
		},

		async setIfAbsent(key, value, ttlMs) {
			assertOpen();
			const ttl = toTtlMs(ttlMs);
			if (store.get(key) !== undefined) return false;
			store.set(key, value, { ttl });
			return true;
		},

		async increment(key, by, ttlMs) {
			assertOpen();
			const ttl = toTtlMs(ttlMs);
			assertIncrement(by);
			const current = store.get(key);
			if (current === undefined) {
				store.set(key, String(by), { ttl });
				return by;
			}
			if (!INTEGER.test(current)) {
				throw new Error("Cache value is not an integer");
			}
			const next = Number(current) + by;
			if (!Number.isSafeInteger(next)) {
				throw new Error("Cache increment would overflow");
			}
			// The entry keeps the expiry it was created with, as PEXPIRE NX does in Redis.
			store.set(key, String(next), { noUpdateTTL: true });
			return next;
		},

		async delete(key) {
			assertOpen();
			store.delete(key);
		},

		async deleteMany(keys) {
			assertOpen();
			for (const key of keys) store.delete(key);
		},

		async close() {
			closed = true;
			store.clear();
		},
	};
}
