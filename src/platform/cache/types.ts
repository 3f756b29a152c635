/** A small string key/value store with per-entry expiry, shared across processes when backed by Redis. */
export interface Cache {
	get(key: string): Promise<string | undefined>;
	/** Several keys in one round trip; the values in the keys' order. */
	getMany(keys: string[]): Promise<(string | undefined)[]>;
	set(key: string, value: string, ttlMs: number): Promise<void>;
	/** Several keys with the same TTL in one round trip. */
	setMany(entries: { key: string; value: string }[], ttlMs: number): Promise<void>;
	/** Sets only when absent; true when this call set it (the dedup-window primitive). */
	setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
	/** Adds `by` (creating the key at 0 with ttlMs if absent, TTL not extended afterwards); returns the new value. */
	increment(key: string, by: number, ttlMs: number): Promise<number>;
	delete(key: string): Promise<void>;
	deleteMany(keys: string[]): Promise<void>;
	close(): Promise<void>;
}
