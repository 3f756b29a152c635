import { withTimeout } from "../platform/timeout.ts";

/**
 * Work that must not hold up a page: a worker's records (timeline entries) and news (thread
 * follow-ups) wait here until the worker has no tier to fire and no page to send, then run one at
 * a time, in order, looking again before each. In an alert storm the pages go out first and the
 * records follow seconds later; at other times they run at once. A task waits for quiet at most
 * `maxWaitMs` after it was queued, so a worker that is never idle still writes its records (late).
 * Held in memory: a worker that dies loses what was still waiting, as it would lose a write in flight.
 */
export interface QuietLane {
	/** Queues a task; its failure is reported as `context` and the lane goes on. */
	push(task: () => Promise<void>, context: string): void;
	/** Resolves when nothing is waiting or running (tests). */
	idle(): Promise<void>;
	/** Like idle(), but gives up after `withinMs`: true when the lane emptied (shutdown). */
	drained(withinMs: number): Promise<boolean>;
}

export function createQuietLane(deps: {
	/** Resolves once this process has no tier and no page in hand. */
	quiet(): Promise<void>;
	onError(error: unknown, context: string): void;
	/** Longest a task waits for quiet, from when it was queued. Default 5 s. */
	maxWaitMs?: number;
}): QuietLane {
	const maxWaitMs = deps.maxWaitMs ?? 5000;
	const waiting: { task: () => Promise<void>; context: string; queuedAt: number }[] = [];
	let draining: Promise<void> | undefined;

	/** Quiet, or the task's longest wait over, whichever comes first. */
	const turnOf = (queuedAt: number): Promise<void> =>
		withTimeout(deps.quiet(), Math.max(0, queuedAt + maxWaitMs - Date.now()), "quiet").catch(() => {});

	async function drain(): Promise<void> {
		for (let next = waiting.shift(); next; next = waiting.shift()) {
			const { task, context, queuedAt } = next;
			await turnOf(queuedAt)
				.then(task)
				.catch((error) => deps.onError(error, context));
		}
	}

	async function idle(): Promise<void> {
		while (draining) await draining;
	}

	function kick(): void {
		if (draining || waiting.length === 0) return;
		draining = drain().finally(() => {
			draining = undefined;
			// A task pushed while the last one finished has no drain yet.
			kick();
		});
	}

	return {
		push(task, context) {
			waiting.push({ task, context, queuedAt: Date.now() });
			kick();
		},
		idle,
		drained: (withinMs) =>
			withTimeout(idle(), withinMs, "the quiet lane").then(
				() => true,
				() => false,
			),
	};
}
