/**
 * Settles as `promise` does, or rejects with `Error(\`${what} did not answer within ${ms} ms\`)`
 * first. For calls to something that may hang (Redis reconnecting with its offline queue, a stuck
 * health check) where an answer late is as good as none.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "the call"): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
		promise.then(resolve, reject).finally(() => clearTimeout(timer));
	});
}
