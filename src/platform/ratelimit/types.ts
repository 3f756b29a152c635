/** The outcome of one {@link RateLimiter.consume} call. */
export interface RateLimitDecision {
	allowed: boolean;
	remaining: number;
	/** ms until a new request would be allowed (0 when allowed) */
	retryAfterMs: number;
}

/** Fixed-window request budgets per key, shared across processes when backed by Redis. */
export interface RateLimiter {
	/** Consumes one point from `key`'s budget of `limit` per `windowMs`. */
	consume(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
	/**
	 * Consumes one point when this process can allow it from memory, without a round trip (a lease
	 * with points left); otherwise consumes nothing and returns undefined: call `consume`.
	 */
	consumeNow(key: string, limit: number, windowMs: number): RateLimitDecision | undefined;
	close(): Promise<void>;
}
