/**
 * Runs a transaction again when PostgreSQL rolled it back for a conflict with another one: SQLSTATE
 * class 40, serialization failure (40001) or deadlock (40P01). Retrying is the documented answer
 * (https://www.postgresql.org/docs/current/mvcc-serialization-failure-handling.html); the whole
 * transaction is re-run, so `work` must read what it decides on inside it.
 */
export async function retrySerializable<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await work();
		} catch (error) {
			if (attempt >= attempts || !isTransactionConflict(error)) throw error;
			// Jittered back-off, so the conflicting transactions don't collide again in step.
			await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
		}
	}
}

export const isTransactionConflict = (error: unknown): boolean =>
	typeof (error as { code?: unknown })?.code === "string" && (error as { code: string }).code.startsWith("40");
