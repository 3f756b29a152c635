import type { Redis } from "ioredis";
import { assertIncrement, closedError, toTtlMs } from "./shared.ts";
import type { Cache } from "./types.ts";

/** Options for {@link createRedisCache}. */
export interface RedisCacheOptions {
	/** Shared connection; the cache never closes it. */
	client: Redis;
	/** Namespace for keys: `${prefix}cache:${key}`. */
	prefix: string;
}

/**
 * SET with PX for every key: one command for a whole batch, where a pipeline would cost a command
 * object and a reply per key. Redis keeps the compiled script, keyed by its hash.
 */
const SET_MANY = `
local ttl = ARGV[#ARGV]
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'PX', ttl) end
return #KEYS`;

/** A {@link Cache} on Redis, shared by every process using the same prefix. */
export function createRedisCache(options: RedisCacheOptions): Cache {
	const { client, prefix } = options;
	let closed = false;

	const keyFor = (key: string) => `${prefix}cache:${key}`;

	const assertOpen = () => {
		if (closed) throw closedError();
	};

	return {
		async get(key) {
			assertOpen();
			const value = await client.get(keyFor(key));
			return value ?? undefined;
		},

		async getMany(keys) {
			assertOpen();
			if (keys.length === 0) return [];
			const values = await client.mget(keys.map(keyFor));
			return values.map((value) => value ?? undefined);
		},

		async set(key, value, ttlMs) {
			assertOpen();
			await client.set(keyFor(key), value, "PX", toTtlMs(ttlMs));
		},

		async setMany(entries, ttlMs) {
			assertOpen();
			const ttl = toTtlMs(ttlMs);
			if (entries.length === 0) return;
			await client.eval(
				SET_MANY,
				entries.length,
				...entries.map((e) => keyFor(e.key)),
				...entries.map((e) => e.value),
				ttl,
			);
		},

		async setIfAbsent(key, value, ttlMs) {
			assertOpen();
			const reply = await client.set(keyFor(key), value, "PX", toTtlMs(ttlMs), "NX");
			return reply === "OK";
		},

		async increment(key, by, ttlMs) {
			assertOpen();
			const ttl = toTtlMs(ttlMs);
			assertIncrement(by);
			const redisKey = keyFor(key);
			// MULTI makes the pair atomic, so no reader sees a counter without an expiry; PEXPIRE NX
			// (Redis 7) only applies when the key has none, i.e. when INCRBY just created it.
			const results = await client.multi().incrby(redisKey, by).pexpire(redisKey, ttl, "NX").exec();
			if (!results) throw new Error("Cache increment transaction was aborted");
			for (const [error] of results) {
				if (error) throw error;
			}
			return Number(results[0]?.[1]);
		},

		async delete(key) {
			assertOpen();
			await client.del(keyFor(key));
		},

		async deleteMany(keys) {
			assertOpen();
			if (keys.length === 0) return;
			await client.del(...keys.map(keyFor));
		},

		async close() {
			closed = true;
		},
	};
}
