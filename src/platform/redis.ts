import { Redis } from "ioredis";

/** Options for {@link createRedisClient}. */
export interface RedisClientOptions {
	/**
	 * Receives connection-level errors (refused connections, resets, failed reconnects).
	 * Command failures still reject the command's own promise.
	 */
	onError?: (error: Error) => void;
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
