/**
 * Coalesces concurrent calls into one batch: while a flush runs, new items wait and go out
 * together in the next one. Under load this turns N requests' small writes into a few
 * statements, and each caller still learns its own item's outcome before it answers.
 */
export interface Batcher<I, R> {
	add(item: I): Promise<R>;
	/** Waits for everything already added to be flushed. */
	drain(): Promise<void>;
}

interface Pending<I, R> {
	item: I;
	resolve(result: R): void;
	reject(error: unknown): void;
}

/** `flush` gets the batch and returns one result per item, in order. */
export function createBatcher<I, R>(flush: (items: I[]) => Promise<R[]>, maxBatch = 500): Batcher<I, R> {
	let queue: Pending<I, R>[] = [];
	let running: Promise<void> | undefined;

	async function run(): Promise<void> {
		// Yield once so calls made in the same tick join the batch.
		await new Promise((resolve) => setImmediate(resolve));
		while (queue.length > 0) {
			const batch = queue.slice(0, maxBatch);
			queue = queue.slice(maxBatch);
			try {
				const results = await flush(batch.map((p) => p.item));
				for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
			} catch (error) {
				for (const p of batch) p.reject(error);
			}
		}
		running = undefined;
	}

	return {
		add(item) {
			return new Promise<R>((resolve, reject) => {
				queue.push({ item, resolve, reject });
				running ??= run();
			});
		},
		async drain() {
			while (running) await running;
		},
	};
}
