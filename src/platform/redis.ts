import { Redis } from "ioredis";

/** Options for {@link createRedisClient}. */
export interface RedisClientOptions {
	/**
	 * Receives connection-level errors (refused connections, resets, failed reconnects).
	 * Command failures still reject the command's own promise.
	 */
	onError?: (error: Error) => void;
	/**
	 * Send the commands of one event-loop tick as one pipeline (ioredis auto-pipelining): the dedup
	 * lookups and writes of concurrent webhooks then cost one round trip instead of one each. Not for
	 * a connection in subscriber mode.
	 */
	autoPipelining?: boolean;
}

/**
 * Opens an ioredis connection for OpsWatch's shared Redis.
 *
 * Commands issued before the connection is ready are queued, but a command gives up after a few
 * reconnect attempts instead of waiting forever, so callers see an outage as an error rather than
 * a hang. The URL is never logged or put in an error message: it may carry a password.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
	const client = new Redis(url, {
		lazyConnect: false,
		maxRetriesPerRequest: 3,
		enableOfflineQueue: true,
		enableAutoPipelining: options.autoPipelining ?? false,
	});
	const { onError } = options;
	// Without an 'error' listener an EventEmitter error would be thrown and crash the process;
	// with one, ioredis keeps reconnecting in the background.
	client.on("error", (error: Error) => {
		try {
			onError?.(error);
		} catch {
			// A faulty reporter must not turn a recoverable Redis hiccup into a crash.
		}
	});
	return client;
}
