import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { leased } from "./leased.ts";
import type { PointsLimiter } from "./shared.ts";

/** rate-limiter-flexible's in-memory store, counting the draws made on it. */
function store(points: number, duration = 60) {
	const limiter = new RateLimiterMemory({ points, duration });
	const draws: number[] = [];
	const counted: PointsLimiter = {
		consume(key, n = 1) {
			draws.push(n);
			return limiter.consume(key, n);
		},
	};
	return { counted, draws };
}

async function allowedOf(limiter: PointsLimiter, key: string, attempts: number): Promise<number> {
	let allowed = 0;
	for (let i = 0; i < attempts; i++) {
		try {
			await limiter.consume(key);
			allowed++;
		} catch (rejection) {
			if (!(rejection instanceof RateLimiterRes)) throw rejection;
		}
	}
	return allowed;
}

describe("leased rate limits", () => {
	it("hands out the whole budget with one draw per 1% of it", async () => {
		const { counted, draws } = store(1000);
		const limiter = leased(counted, 1000);
		expect(await allowedOf(limiter, "key", 1000)).toBe(1000);
		expect(draws).toHaveLength(100);
		expect(draws.every((n) => n === 10)).toBe(true);
		await expect(limiter.consume("key")).rejects.toBeInstanceOf(RateLimiterRes);
	});

	it("shares the budget between processes and never lets more through than it allows", async () => {
		const { counted } = store(1005);
		const first = leased(counted, 1005);
		const second = leased(counted, 1005);
		let allowed = 0;
		for (let i = 0; i < 1200; i++) allowed += await allowedOf(i % 2 ? first : second, "shared", 1);
		// 100 leases of 10 fit; the 101st does not, and its 5 points lapse with the window.
		expect(allowed).toBe(1000);
	});

	it("makes concurrent callers wait for one draw instead of each drawing", async () => {
		const { counted, draws } = store(1000);
		const limiter = leased(counted, 1000);
		const decisions = await Promise.all(Array.from({ length: 45 }, () => limiter.consume("burst")));
		expect(decisions).toHaveLength(45);
		expect(draws).toHaveLength(5);
	});

	it("refuses with the time until the shared window resets", async () => {
		const { counted } = store(200, 30);
		const limiter = leased(counted, 200);
		expect(await allowedOf(limiter, "refused", 200)).toBe(200);
		const refusal = await limiter.consume("refused").catch((rejection: RateLimiterRes) => rejection);
		expect(refusal).toBeInstanceOf(RateLimiterRes);
		expect((refusal as RateLimiterRes).msBeforeNext).toBeGreaterThan(25_000);
	});

	it("lets a lease lapse when its window resets", async () => {
		let clock = 0;
		const { counted, draws } = store(200, 1);
		const limiter = leased(counted, 200, () => clock);
		await limiter.consume("lapsing");
		expect(draws).toHaveLength(1);
		clock += 1_001;
		await limiter.consume("lapsing");
		expect(draws).toHaveLength(2);
	});

	it("passes a store failure to every caller waiting on the draw", async () => {
		const failing: PointsLimiter = { consume: () => Promise.reject(new Error("redis is down")) };
		const limiter = leased(failing, 1000);
		const outcomes = await Promise.allSettled([limiter.consume("k"), limiter.consume("k"), limiter.consume("k")]);
		expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
		expect((outcomes[0] as PromiseRejectedResult).reason.message).toBe("redis is down");
	});

	it("takes points now from a lease with points left, and from nothing else", async () => {
		let clock = 0;
		const { counted, draws } = store(300);
		const limiter = leased(counted, 300, () => clock);
		expect(limiter.takeNow?.("now")).toBeUndefined();
		await limiter.consume("now");
		// A lease of 3, one used: two left, taken without a draw, then nothing.
		expect([limiter.takeNow?.("now"), limiter.takeNow?.("now"), limiter.takeNow?.("now")]).toEqual([
			298,
			297,
			undefined,
		]);
		expect(draws).toEqual([3]);
		await limiter.consume("now");
		clock += 60_001;
		// The lease lapsed with its window: its points are not handed out.
		expect(limiter.takeNow?.("now")).toBeUndefined();
	});

	it("leaves small budgets to the store, point by point", async () => {
		const { counted } = store(150);
		expect(leased(counted, 150)).toBe(counted);
	});
});
