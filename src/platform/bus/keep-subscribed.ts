import type { BusMessage, EventBus } from "./types.ts";

/**
 * Subscribes, and keeps trying every `retryMs` while the bus is down (Redis unreachable at start):
 * a worker's subscriptions make it prompt, and must not keep it from starting. Returns the stop,
 * which cancels a pending retry and unsubscribes.
 */
export function keepSubscribed<T>(
	bus: Pick<EventBus, "subscribe">,
	topic: string,
	handler: (message: BusMessage<T>) => void | Promise<void>,
	options: { onError(error: unknown): void; retryMs?: number },
): () => Promise<void> {
	let stopped = false;
	let retry: NodeJS.Timeout | undefined;
	let unsubscribe: (() => Promise<void>) | undefined;
	const attempt = () => {
		if (stopped) return;
		bus
			.subscribe(topic, handler)
			.then((unsubscribeFn) => {
				unsubscribe = unsubscribeFn;
				if (stopped) void unsubscribeFn();
			})
			.catch((error) => {
				options.onError(error);
				retry = setTimeout(attempt, options.retryMs ?? 5000);
				retry.unref?.();
			});
	};
	attempt();
	return async () => {
		stopped = true;
		clearTimeout(retry);
		await unsubscribe?.();
	};
}
