import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestRedis } from "../../../test/harness/redis.ts";
import { createMemoryRateLimiter, createRedisRateLimiter } from "./index.ts";
import type { RateLimiter } from "./types.ts";

const testRedis = openTestRedis();
const backend = testRedis ? "redis" : "memory";
const prefix = testRedis?.prefix ?? "";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`rate limiter contract (${backend})`, () => {
	let limiter: RateLimiter;
	let makeLimiter: () => RateLimiter;

	beforeAll(() => {
		if (testRedis) {
			const redis = testRedis.connect();
			makeLimiter = () => createRedisRateLimiter({ client: redis, prefix });
		} else {
			makeLimiter = () => createMemoryRateLimiter();
		}
		limiter = makeLimiter();
	});

	afterAll(async () => {
		await limiter.close();
		await testRedis?.cleanup();
	});

	it("allows `limit` requests, then denies with a retry time within the window", async () => {
		const decisions = [];
		for (let i = 0; i < 3; i++) decisions.push(await limiter.consume("exhaust", 3, 10_000));
		expect(decisions).toEqual([
			{ allowed: true, remaining: 2, retryAfterMs: 0 },
			{ allowed: true, remaining: 1, retryAfterMs: 0 },
			{ allowed: true, remaining: 0, retryAfterMs: 0 },
		]);

		for (let i = 0; i < 2; i++) {
			const denied = await limiter.consume("exhaust", 3, 10_000);
			expect(denied.allowed).toBe(false);
			expect(denied.remaining).toBe(0);
			expect(denied.retryAfterMs).toBeGreaterThan(0);
			expect(denied.retryAfterMs).toBeLessThanOrEqual(10_000);
		}
	});

	it("keeps separate keys independent", async () => {
		expect((await limiter.consume("tenant-a", 1, 10_000)).allowed).toBe(true);
		expect((await limiter.consume("tenant-a", 1, 10_000)).allowed).toBe(false);
		expect(await limiter.consume("tenant-b", 1, 10_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
	});

	it("keeps separate budgets for the same key independent", async () => {
		expect((await limiter.consume("shared-key", 1, 10_000)).allowed).toBe(true);
		expect((await limiter.consume("shared-key", 1, 10_000)).allowed).toBe(false);
		expect(await limiter.consume("shared-key", 5, 10_000)).toEqual({ allowed: true, remaining: 4, retryAfterMs: 0 });
		expect((await limiter.consume("shared-key", 1, 20_000)).allowed).toBe(true);
	});

	it("shares a budget between limiter instances over the same store only when the store is shared", async () => {
		const other = makeLimiter();
		try {
			expect((await limiter.consume("cross-instance", 1, 10_000)).allowed).toBe(true);
			// Redis is one store for every process; memory is per instance.
			expect((await other.consume("cross-instance", 1, 10_000)).allowed).toBe(backend === "memory");
		} finally {
			await other.close();
		}
	});

	it("keeps a large budget exact across instances while drawing it in leases", async () => {
		const other = makeLimiter();
		try {
			let allowed = 0;
			for (let i = 0; i < 1_300; i++) {
				const decision = await (i % 2 ? limiter : other).consume("leased", 1_000, 60_000);
				if (decision.allowed) allowed++;
			}
			// Redis: one budget of 1,000 for both. Memory: 650 attempts each, within each budget.
			expect(allowed).toBe(backend === "redis" ? 1_000 : 1_300);
		} finally {
			await other.close();
		}
	});

	it("answers from memory only what a lease already holds, never more than the budget", async () => {
		// Nothing drawn yet: only `consume` can tell.
		expect(limiter.consumeNow("now", 200, 60_000)).toBeUndefined();
		expect(await limiter.consume("now", 200, 60_000)).toEqual({ allowed: true, remaining: 199, retryAfterMs: 0 });
		if (backend === "redis") {
			// The first consume drew a lease of 2 (1% of 200) and used one; the other is here in memory.
			expect(limiter.consumeNow("now", 200, 60_000)).toEqual({ allowed: true, remaining: 198, retryAfterMs: 0 });
		}
		expect(limiter.consumeNow("now", 200, 60_000)).toBeUndefined();
		// The store saw every point: the budget counts the one taken from memory.
		expect((await limiter.consume("now", 200, 60_000)).remaining).toBe(backend === "redis" ? 197 : 198);
		// A budget too small to lease (under 200) is counted in the store, point by point.
		expect(await limiter.consume("small", 199, 60_000)).toEqual({ allowed: true, remaining: 198, retryAfterMs: 0 });
		expect(limiter.consumeNow("small", 199, 60_000)).toBeUndefined();
	});

	it("restores the budget once the window has passed", async () => {
		expect((await limiter.consume("refill", 2, 1_000)).allowed).toBe(true);
		expect((await limiter.consume("refill", 2, 1_000)).allowed).toBe(true);
		const denied = await limiter.consume("refill", 2, 1_000);
		expect(denied.allowed).toBe(false);
		expect(denied.retryAfterMs).toBeGreaterThan(0);
		expect(denied.retryAfterMs).toBeLessThanOrEqual(1_000);

		await sleep(denied.retryAfterMs + 100);
		expect(await limiter.consume("refill", 2, 1_000)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
	});

	it("rounds a sub-second window up to one second", async () => {
		expect((await limiter.consume("sub-second", 1, 200)).allowed).toBe(true);
		const denied = await limiter.consume("sub-second", 1, 200);
		expect(denied.allowed).toBe(false);
		expect(denied.retryAfterMs).toBeGreaterThan(500);
		expect(denied.retryAfterMs).toBeLessThanOrEqual(1_000);
	});

	it("rejects invalid limits and windows", async () => {
		for (const [limit, windowMs] of [
			[0, 1_000],
			[-1, 1_000],
			[1.5, 1_000],
			[Number.NaN, 1_000],
			[1, 0],
			[1, -5],
			[1, Number.NaN],
			[1, Number.POSITIVE_INFINITY],
		] as const) {
			await expect(limiter.consume("invalid", limit, windowMs), `${limit}/${windowMs}`).rejects.toThrow(/Rate limit/);
		}
	});

	it("rejects consume after close", async () => {
		const closing = makeLimiter();
		await closing.close();
		await expect(closing.consume("closed", 1, 1_000)).rejects.toThrow(/closed/);
		expect(closing.consumeNow("closed", 1, 1_000)).toBeUndefined();
	});

	if (backend === "redis") {
		it("propagates a Redis failure as an Error instead of a decision", async () => {
			const broken = testRedis!.connect();
			await broken.quit();
			const failing = createRedisRateLimiter({ client: broken, prefix });
			const outcome = failing.consume("unreachable", 5, 1_000);
			await expect(outcome).rejects.toBeInstanceOf(Error);
			await failing.close();
		});
	}
});
