import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { createRedisClient } from "../../src/platform/redis.ts";
import { testRedisUrl } from "./backend.ts";

export interface TestRedis {
	/** Unique per test file, so parallel files never see each other's keys or channels. */
	prefix: string;
	/** A new connection to the test Redis, closed by cleanup(). */
	connect(): Redis;
	/** Deletes every key under the prefix and quits every connection. */
	cleanup(): Promise<void>;
}

/** Redis for this test file, or undefined when the run is on the in-process backends. */
export function openTestRedis(): TestRedis | undefined {
	if (!testRedisUrl) return undefined;
	const url = testRedisUrl;
	const prefix = `test:${randomUUID()}:`;
	const clients: Redis[] = [];
	const connect = () => {
		const client = createRedisClient(url);
		clients.push(client);
		return client;
	};
	return {
		prefix,
		connect,
		async cleanup() {
			const admin = connect();
			let cursor = "0";
			do {
				const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
				if (keys.length > 0) await admin.del(...keys);
				cursor = next;
			} while (cursor !== "0");
			await Promise.all(clients.map((client) => (client.status === "end" ? undefined : client.quit())));
		},
	};
}
