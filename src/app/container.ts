import type { Redis } from "ioredis";
import {
	type AlertApi,
	createAlertMetrics,
	createAlertService,
	createDedupWindow,
	createSeverityRuleService,
	type EscalationStarter,
	type SeverityRuleApi,
} from "../alert/index.ts";
import { createPolicyService, type PolicyApi } from "../escalation/index.ts";
import {
	createKbMetrics,
	createKnowledgeBase,
	createRunbookService,
	type KnowledgeBaseApi,
	type RunbookApi,
} from "../incident/index.ts";
import { createMemoryBus, createRedisBus, type EventBus } from "../platform/bus/index.ts";
import { type Cache, createMemoryCache, createRedisCache } from "../platform/cache/index.ts";
import { type Clock, systemClock } from "../platform/clock.ts";
import { type Database, loadMigrations, migrateSchema, openDatabase } from "../platform/db/index.ts";
import type { Logger } from "../platform/log.ts";
import { createMetrics, type Metrics } from "../platform/metrics.ts";
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from "../platform/ratelimit/index.ts";
import { createRedisClient } from "../platform/redis.ts";
import { createRosterService, type RosterApi } from "../roster/index.ts";
import { createMemberService, createTenantService, type MemberApi, type TenantApi } from "../tenant/index.ts";
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
	alerts: AlertApi;
	alertRules: SeverityRuleApi;
	knowledgeBase: KnowledgeBaseApi;
	runbooks: RunbookApi;
	members: MemberApi;
	rosters: RosterApi;
	policies: PolicyApi;
	readiness: ReadinessCheck[];
	close(): Promise<void>;
}

export interface ContainerOptions {
	config: Config;
	logger: Logger;
	clock?: Clock;
	/** Tests start each file's database from a pre-migrated dump instead of the data dir. */
	database?: Database;
	/** Until the escalation engine exists nothing pages; tests pass a recorder. */
	escalation?: EscalationStarter;
}

/** Logs what would page: the escalation engine replaces this. */
const loggingEscalation = (logger: Logger): EscalationStarter => ({
	start: async (tenant, alert) =>
		logger.info(
			{ tenant: tenant.slug, alert_id: alert.id, severity: alert.severity },
			"alert would page (no escalation engine yet)",
		),
	stop: async () => {},
});

export async function createContainer({
	config,
	logger,
	clock = systemClock,
	database,
	escalation,
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
	const redis = (options: { autoPipelining?: boolean } = {}): Redis => {
		const client = createRedisClient(config.redisUrl!, { onError: onError("redis"), ...options });
		redisClients.push(client);
		return client;
	};

	let bus: EventBus;
	let cache: Cache;
	let rateLimiter: RateLimiter;
	const readiness: ReadinessCheck[] = [{ name: "database", check: () => database.ping() }];
	if (config.redisUrl) {
		const client = redis({ autoPipelining: true });
		const prefix = config.redisPrefix;
		bus = createRedisBus({ publisher: client, subscriberFactory: () => redis(), prefix, onError: onError("bus") });
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
		bus,
		adminToken: config.adminToken,
		onBackgroundError: onError("tenant"),
	});

	const metrics = createMetrics();
	const alertRules = createSeverityRuleService({ db: database.db, clock });
	const knowledgeBase = createKnowledgeBase({ db: database.db, clock, metrics: createKbMetrics(metrics.registry) });
	const runbooks = createRunbookService({ db: database.db, clock });
	// Members and rosters know each other: a roster checks its participants are members, and a
	// member in a roster cannot be removed. The closure breaks the cycle at construction.
	const members = createMemberService({
		db: database.db,
		clock,
		usage: (tenant, memberId) => rosters.memberUsage(tenant, memberId),
	});
	const rosters: RosterApi = createRosterService({ db: database.db, clock, members, tenants });
	const policies = createPolicyService({ db: database.db, clock, members, rosters });
	const alerts = createAlertService({
		rules: alertRules,
		db: database.db,
		clock,
		bus,
		dedup: createDedupWindow({ cache, windowMs: config.dedupWindowMs, onError: onError("dedup cache") }),
		escalation: escalation ?? loggingEscalation(logger),
		knowledgeBase,
		metrics: createAlertMetrics(metrics.registry),
		onError: (error, context) =>
			logger.error({ err: error, component: "alert", context }, `alert pipeline: ${context} failed`),
	});

	return {
		config,
		logger,
		clock,
		metrics,
		database,
		bus,
		cache,
		rateLimiter,
		tenants,
		alerts,
		alertRules,
		knowledgeBase,
		runbooks,
		members,
		rosters,
		policies,
		readiness,
		async close() {
			await alerts.close();
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
