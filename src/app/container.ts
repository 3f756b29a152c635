import type { Redis } from "ioredis";
import { createMemoryBus, createRedisBus, type EventBus } from "../platform/bus/index.ts";
import { type Cache, createMemoryCache, createRedisCache } from "../platform/cache/index.ts";
import { type Clock, systemClock } from "../platform/clock.ts";
import { type Database, loadMigrations, migrateSchema, openDatabase } from "../platform/db/index.ts";
import type { Logger } from "../platform/log.ts";
import { createMetrics, type Metrics } from "../platform/metrics.ts";
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from "../platform/ratelimit/index.ts";
import { createRedisClient } from "../platform/redis.ts";
import { createTenantService, type TenantApi } from "../tenant/index.ts";
import type { Config } from "./config.ts";
import type { ReadinessCheck } from "./http/health.ts";

/** Everything one process runs on, wired once. The only place concrete things meet. */
export interface Container {
	config: Config;
	logger: Logger;
	clock: Clock;
	metrics: Metrics;
	database: Database;
	bus: EventBus;
	cache: Cache;
	rateLimiter: RateLimiter;
	tenants: TenantApi;
	readiness: ReadinessCheck[];
	close(): Promise<void>;
}

export interface ContainerOptions {
	config: Config;
	logger: Logger;
	clock?: Clock;
	/** Tests start each file's database from a pre-migrated dump instead of the data dir. */
	database?: Database;
}

export async function createContainer({
	config,
	logger,
	clock = systemClock,
	database,
}: ContainerOptions): Promise<Container> {
	const onError = (component: string) => (error: unknown) =>
		logger.error({ err: error, component }, `${component} error`);

	database ??= await openDatabase(
		config.databaseUrl
			? {
					backend: "postgres",
					url: config.databaseUrl,
					poolSize: config.databasePoolSize,
					onError: onError("database"),
				}
			: { backend: "pglite", dataDir: config.dataDir, onError: onError("database") },
	);

	const redisClients: Redis[] = [];
	const redis = (): Redis => {
		const client = createRedisClient(config.redisUrl!, { onError: onError("redis") });
		redisClients.push(client);
		return client;
	};

	let bus: EventBus;
	let cache: Cache;
	let rateLimiter: RateLimiter;
	const readiness: ReadinessCheck[] = [{ name: "database", check: () => database.ping() }];
	if (config.redisUrl) {
		const client = redis();
		const prefix = config.redisPrefix;
		bus = createRedisBus({ publisher: client, subscriberFactory: redis, prefix, onError: onError("bus") });
		cache = createRedisCache({ client, prefix });
		rateLimiter = createRedisRateLimiter({ client, prefix });
		readiness.push({
			name: "redis",
			check: async () => {
				await client.ping();
			},
		});
	} else {
		bus = createMemoryBus({ onError: onError("bus") });
		cache = createMemoryCache();
		rateLimiter = createMemoryRateLimiter();
	}

	const tenants = createTenantService({
		db: database.db,
		clock,
		adminToken: config.adminToken,
		onBackgroundError: onError("tenant"),
	});

	return {
		config,
		logger,
		clock,
		metrics: createMetrics(),
		database,
		bus,
		cache,
		rateLimiter,
		tenants,
		readiness,
		async close() {
			await Promise.allSettled([bus.close(), cache.close(), rateLimiter.close()]);
			await Promise.allSettled(redisClients.map((client) => client.quit()));
			await database.close();
		},
	};
}

/** Applies pending migrations to `public`, then to every tenant schema. Safe to run concurrently. */
export async function migrateAll(container: Pick<Container, "database" | "tenants" | "logger">): Promise<void> {
	const applied = await migrateSchema(container.database.db, {
		schema: "public",
		migrations: loadMigrations("public"),
	});
	if (applied.length > 0) container.logger.info({ schema: "public", applied }, "applied migrations");
	for (const result of await container.tenants.migrateTenantSchemas()) {
		if (result.applied.length > 0) {
			container.logger.info({ tenant: result.slug, applied: result.applied }, "applied tenant migrations");
		}
	}
}
