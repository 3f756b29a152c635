import type { Clock } from "./clock.ts";

/**
 * A worker loop that runs when there is work and sleeps until the next deadline otherwise: woken
 * early by `wake()` (a bus event, a jump of a test clock), never polling on a fixed period. The
 * deadline comes from the database, so work another process scheduled is found too; `maxSleepMs`
 * bounds the sleep only as a safety net for a wake-up that never arrived.
 */
export interface Loop {
	start(): void;
	/** Runs a cycle now (or right after the running one). */
	wake(): void;
	/** Resolves when the loop has no cycle running and none pending (tests wait on it). */
	idle(): Promise<void>;
	stop(): Promise<void>;
}

export interface LoopOptions {
	clock: Clock;
	/** Does one batch of due work; resolves true when more may be due at once. */
	runOnce(): Promise<boolean>;
	/** The earliest instant anything is due, if any. */
	nextDue(): Promise<Date | undefined>;
	maxSleepMs: number;
	onError(error: unknown): void;
}

export function createLoop({ clock, runOnce, nextDue, maxSleepMs, onError }: LoopOptions): Loop {
	let running: Promise<void> | undefined;
	let again = false;
	let stopped = true;
	let timer: NodeJS.Timeout | undefined;
	let unsubscribeClock: (() => void) | undefined;
	const idleWaiters: (() => void)[] = [];

	async function cycle(): Promise<void> {
		do {
			again = false;
			try {
				while (!stopped && (await runOnce())) {}
			} catch (error) {
				onError(error);
			}
		} while (again && !stopped);
		if (stopped) return;
		let sleepMs = maxSleepMs;
		try {
			const due = await nextDue();
			if (due) sleepMs = Math.min(maxSleepMs, Math.max(0, due.getTime() - clock.now().getTime()));
		} catch (error) {
			onError(error);
		}
		if (!stopped && !again) {
			clearTimeout(timer);
			timer = setTimeout(wake, sleepMs);
			timer.unref?.();
		}
	}

	function wake(): void {
		if (stopped) return;
		if (running) {
			again = true;
			return;
		}
		clearTimeout(timer);
		running = cycle().finally(() => {
			running = undefined;
			if (again && !stopped) wake();
			else for (const resolve of idleWaiters.splice(0)) resolve();
		});
	}

	return {
		start() {
			if (!stopped) return;
			stopped = false;
			unsubscribeClock = clock.onJump?.(wake);
			wake();
		},
		wake,
		idle: () => (running ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
		async stop() {
			stopped = true;
			clearTimeout(timer);
			unsubscribeClock?.();
			await running;
		},
	};
}
