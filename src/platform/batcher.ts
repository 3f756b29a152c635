/**
 * Coalesces concurrent calls into batches: items added while flushes run wait and go out together
 * in the next one. Under load this turns N requests' small writes into a few statements, and each
 * caller still learns its own item's outcome before it answers.
 */
export interface Batcher<I, R> {
	add(item: I): Promise<R>;
	/** Waits for everything already added to be flushed. */
	drain(): Promise<void>;
}

export interface BatcherOptions<I> {
	/** Most items in one flush. */
	maxBatch?: number;
	/** Most flushes in flight at once; the flush must be safe to run concurrently with itself. */
	concurrency?: number;
	/** An item's share of `maxBatch` (default 1), e.g. the rows it carries. */
	weight?: (item: I) => number;
	/**
	 * Group commit, as PostgreSQL's `commit_delay` and `commit_siblings`: once a flush has carried at
	 * least `siblings` items, the batcher is busy, and the next flush starts no sooner than `delayMs`
	 * after that one started, so that a storm's items go out in fewer, larger flushes. A batcher that
	 * is not busy (one sender at a time) flushes at once, as without it.
	 */
	groupCommit?: { delayMs: number; siblings: number };
}

/** A flush's result for an item that failed on its own: only that item's caller gets `error`. */
export class ItemFailure {
	constructor(readonly error: unknown) {}
}

interface Pending<I, R> {
	item: I;
	resolve(result: R): void;
	reject(error: unknown): void;
}

/**
 * `flush` gets the batch and returns one result per item, in order; an `ItemFailure` rejects its
 * item alone, where a flush that throws rejects the whole batch.
 */
export function createBatcher<I, R>(
	flush: (items: I[]) => Promise<(R | ItemFailure)[]>,
	{ maxBatch = 500, concurrency = 1, weight = () => 1, groupCommit }: BatcherOptions<I> = {},
): Batcher<I, R> {
	let queue: Pending<I, R>[] = [];
	let inFlight = 0;
	let scheduled = false;
	let idle: (() => void)[] = [];
	/** When the last flush started, and how many items it carried. */
	let lastStart = Number.NEGATIVE_INFINITY;
	let lastSize = 0;
	/** The wait for the group-commit delay, while one is armed. */
	let delayed: NodeJS.Timeout | undefined;

	/** Takes items up to `maxBatch` of weight (at least one, however heavy). */
	function take(): Pending<I, R>[] {
		let total = 0;
		let count = 0;
		while (count < queue.length) {
			total += weight(queue[count]!.item);
			if (count > 0 && total > maxBatch) break;
			count++;
		}
		const batch = queue.slice(0, count);
		queue = queue.slice(count);
		return batch;
	}

	async function runOne(batch: Pending<I, R>[]): Promise<void> {
		try {
			const results = await flush(batch.map((p) => p.item));
			for (const [i, p] of batch.entries()) {
				const result = results[i];
				if (result instanceof ItemFailure) p.reject(result.error);
				else p.resolve(result as R);
			}
		} catch (error) {
			for (const p of batch) p.reject(error);
		}
	}

	/** How long the next flush must wait for the group-commit delay: 0 when it may start now. */
	function groupDelay(): number {
		if (!groupCommit || lastSize < groupCommit.siblings) return 0;
		return Math.max(0, lastStart + groupCommit.delayMs - performance.now());
	}

	function pump(): void {
		while (queue.length > 0 && inFlight < concurrency) {
			const wait = groupDelay();
			if (wait > 0) {
				if (!delayed) {
					delayed = setTimeout(() => {
						delayed = undefined;
						lastSize = 0; // the delay is served, even if the timer fired a fraction of a millisecond early
						pump();
					}, wait);
				}
				return;
			}
			const batch = take();
			lastStart = performance.now();
			lastSize = batch.length;
			inFlight++;
			runOne(batch).finally(() => {
				inFlight--;
				pump();
			});
		}
		if (queue.length === 0 && inFlight === 0) {
			for (const wake of idle) wake();
			idle = [];
		}
	}

	function schedule(): void {
		if (scheduled) return;
		scheduled = true;
		// Yield once so calls made in the same tick join the batch.
		setImmediate(() => {
			scheduled = false;
			pump();
		});
	}

	return {
		add(item) {
			return new Promise<R>((resolve, reject) => {
				queue.push({ item, resolve, reject });
				if (inFlight < concurrency) schedule();
			});
		},
		drain() {
			if (queue.length === 0 && inFlight === 0) return Promise.resolve();
			return new Promise<void>((resolve) => idle.push(resolve));
		},
	};
}
