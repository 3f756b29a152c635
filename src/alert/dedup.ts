import type { Cache } from "../platform/cache/index.ts";
import { lruCache } from "../platform/lru.ts";
import { withTimeout } from "../platform/timeout.ts";

/**
 * The dedup window (spec §4.1): fingerprint → open alert id, for `windowMs` after the alert was
 * last written. A hit lets a repeat skip the upsert and count itself against the alert directly.
 * It is only the fast path: PostgreSQL's one-open-alert-per-fingerprint index is the truth, so a
 * cache that is down, slow or flushed costs speed, never correctness.
 *
 * In front of the shared cache sits a small in-process tier: a repeat this process has seen
 * answers without a round trip. It may go stale when another replica resolves the alert; the
 * counting UPDATE then finds the alert closed and the repeat takes the full path, as for any miss.
 * The tier admits a fingerprint when the shared cache knows it (it repeated), not when the alert
 * is opened: a storm of distinct alerts would otherwise churn it at every alert (a fifth of the
 * ingest CPU for 50-alert payloads, measured) while only repeats ever read it.
 */
export interface DedupWindow {
	/**
	 * Open alert ids of the fingerprints seen within the window. A promise only when the shared cache
	 * must be asked: a storm's repeats, known in process, are answered at once (ADR 0008).
	 */
	lookup(tenantId: string, fingerprints: string[]): Map<string, string> | Promise<Map<string, string>>;
	remember(tenantId: string, entries: { fingerprint: string; alertId: string }[]): Promise<void>;
	forget(tenantId: string, fingerprints: string[]): Promise<void>;
}

export interface DedupWindowOptions {
	cache: Cache;
	windowMs: number;
	/** A cache answer slower than this counts as a miss. */
	timeoutMs?: number;
	/** Entries of the in-process tier (0 turns it off). */
	localEntries?: number;
	onError?: (error: unknown) => void;
}

const key = (tenantId: string, fingerprint: string) => `dedup:${tenantId}:${fingerprint}`;

export function createDedupWindow({
	cache,
	windowMs,
	timeoutMs = 250,
	localEntries = 20_000,
	onError,
}: DedupWindowOptions): DedupWindow {
	const local = localEntries > 0 ? lruCache<string, string>(localEntries, { ttl: windowMs }) : undefined;
	const guarded = async <T>(work: Promise<T>, fallback: T): Promise<T> => {
		try {
			return await withTimeout(work, timeoutMs, "cache");
		} catch (error) {
			onError?.(error);
			return fallback;
		}
	};

	/** The shared cache's answer for the fingerprints the in-process tier did not know, added to `found`. */
	async function askShared(tenantId: string, unknown: string[], found: Map<string, string>) {
		const values = await guarded(
			cache.getMany(unknown.map((fp) => key(tenantId, fp))),
			unknown.map(() => undefined),
		);
		unknown.forEach((fp, i) => {
			const alertId = values[i];
			if (alertId) {
				found.set(fp, alertId);
				local?.set(key(tenantId, fp), alertId);
			}
		});
		return found;
	}

	return {
		lookup(tenantId, fingerprints) {
			const found = new Map<string, string>();
			const unknown: string[] = [];
			for (const fp of fingerprints) {
				const alertId = local?.get(key(tenantId, fp));
				if (alertId) found.set(fp, alertId);
				else unknown.push(fp);
			}
			return unknown.length === 0 ? found : askShared(tenantId, unknown, found);
		},
		async remember(tenantId, entries) {
			if (entries.length === 0) return;
			// The tier keeps a fingerprint already known: the alert id may have changed (a new alert).
			for (const e of entries) {
				const k = key(tenantId, e.fingerprint);
				if (local?.has(k)) local.set(k, e.alertId);
			}
			await guarded(
				cache.setMany(
					entries.map((e) => ({ key: key(tenantId, e.fingerprint), value: e.alertId })),
					windowMs,
				),
				undefined,
			);
		},
		async forget(tenantId, fingerprints) {
			for (const fp of fingerprints) local?.delete(key(tenantId, fp));
			if (fingerprints.length === 0) return;
			await guarded(cache.deleteMany(fingerprints.map((fp) => key(tenantId, fp))), undefined);
		},
	};
}
