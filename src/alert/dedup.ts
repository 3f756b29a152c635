import type { Cache } from "../platform/cache/index.ts";

/**
 * The dedup window (spec §4.1): fingerprint → open alert id, for `windowMs` after the alert was
 * last written. A hit lets a repeat skip the upsert and count itself against the alert directly.
 * It is only the fast path: PostgreSQL's one-open-alert-per-fingerprint index is the truth, so a
 * cache that is down, slow or flushed costs speed, never correctness.
 */
export interface DedupWindow {
	/** Open alert ids of the fingerprints seen within the window. */
	lookup(tenantId: string, fingerprints: string[]): Promise<Map<string, string>>;
	remember(tenantId: string, entries: { fingerprint: string; alertId: string }[]): Promise<void>;
	forget(tenantId: string, fingerprints: string[]): Promise<void>;
}

export interface DedupWindowOptions {
	cache: Cache;
	windowMs: number;
	/** A cache answer slower than this counts as a miss. */
	timeoutMs?: number;
	onError?: (error: unknown) => void;
}

const key = (tenantId: string, fingerprint: string) => `dedup:${tenantId}:${fingerprint}`;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`cache did not answer within ${ms} ms`)), ms);
		promise.then(resolve, reject).finally(() => clearTimeout(timer));
	});
}

export function createDedupWindow({ cache, windowMs, timeoutMs = 250, onError }: DedupWindowOptions): DedupWindow {
	const guarded = async <T>(work: Promise<T>, fallback: T): Promise<T> => {
		try {
			return await withTimeout(work, timeoutMs);
		} catch (error) {
			onError?.(error);
			return fallback;
		}
	};

	return {
		async lookup(tenantId, fingerprints) {
			const found = new Map<string, string>();
			const values = await guarded(
				Promise.all(fingerprints.map((fp) => cache.get(key(tenantId, fp)))),
				fingerprints.map(() => undefined),
			);
			fingerprints.forEach((fp, i) => {
				const alertId = values[i];
				if (alertId) found.set(fp, alertId);
			});
			return found;
		},
		async remember(tenantId, entries) {
			await guarded(
				Promise.all(entries.map((e) => cache.set(key(tenantId, e.fingerprint), e.alertId, windowMs))),
				undefined,
			);
		},
		async forget(tenantId, fingerprints) {
			await guarded(Promise.all(fingerprints.map((fp) => cache.delete(key(tenantId, fp)))), undefined);
		},
	};
}
