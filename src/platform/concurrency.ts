/**
 * Runs `fn` over `items` with at most `limit` calls in flight, starting them in order; resolves to
 * the results in the items' order, or rejects with the first failure (calls already started finish
 * on their own). A storm's hundreds of sends started at once only queue inside the HTTP client,
 * each holding its request objects meanwhile; a bound keeps them out of memory until their turn.
 */
export async function mapConcurrently<T, R>(
	items: readonly T[],
	limit: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	if (!(limit >= 1)) throw new RangeError(`mapConcurrently needs a limit of at least 1, got ${limit}`);
	const results = new Array<R>(items.length);
	let next = 0;
	const lane = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await fn(items[index]!, index);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
	return results;
}
