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
import {
	countOverdue,
	createEscalationMetrics,
	createEscalationService,
	createHandoffAnnouncer,
	createPolicyService,
	createSenders,
	type EscalationApi,
	type PolicyApi,
	rosterResolver,
} from "../escalation/index.ts";
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
import { AppError } from "../platform/errors.ts";
import type { Logger } from "../platform/log.ts";
import { createMetrics, type Metrics } from "../platform/metrics.ts";
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from "../platform/ratelimit/index.ts";
import { createRedisClient } from "../platform/redis.ts";
import { createSecretBox, loadOrCreateKeyFile } from "../platform/secret-box.ts";
import { createRosterService, type HandoffNotifier, type RosterApi } from "../roster/index.ts";
import { createInstallations, createSlackBot, createSlackWeb, type SlackBot } from "../slack/index.ts";
import {
	cacheSessionStore,
	createLocalLogin,
	createLogin,
	createMemberService,
	createOidcVerifier,
	createSessions,
	createTenantService,
	databaseSessionStore,
	type LocalLogin,
	type Login,
	type MemberApi,
	type Sessions,
	type TenantApi,
} from "../tenant/index.ts";
import { alertDesk } from "./alert-desk.ts";
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
	escalations: EscalationApi;
	/** Tells people of roster handoffs (Slack DM when configured) and logs them. */
	handoffAnnouncer: HandoffNotifier;
	/** Browser sign-in with the identity provider, when its client is configured. */
	login: Login | undefined;
	/** Browser sessions, and signing in with a local password. */
	sessions: Sessions;
	localLogin: LocalLogin;
	/** The Slack bot: installations, buttons, modals, commands, events, the install flow. */
	slackBot: SlackBot;
	/** OpsWatch's external address (links in pages, provider callbacks). */
	publicUrl: string;
	readiness: ReadinessCheck[];
	close(): Promise<void>;
}

export interface ContainerOptions {
	config: Config;
	logger: Logger;
	clock?: Clock;
	/** Tests start each file's database from a pre-migrated dump instead of the data dir. */
	database?: Database;
	/** Tests of the ingest pipeline alone pass a recorder in place of the escalation engine. */
	escalation?: EscalationStarter;
	/** Overrides config.publicUrl (tests learn their address only after choosing a port). */
	publicUrl?: string;
}

export async function createContainer({
	config,
	logger,
	clock = systemClock,
	database,
	escalation,
	publicUrl = config.publicUrl ?? `http://localhost:${config.port}`,
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
		oidc: config.oidc && createOidcVerifier(config.oidc, () => clock.now()),
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
	// The alert pipeline starts escalations and the engine acknowledges alerts: the closures break
	// the cycle at construction, as for members and rosters.
	const alerts: AlertApi = createAlertService({
		rules: alertRules,
		db: database.db,
		clock,
		bus,
		dedup: createDedupWindow({ cache, windowMs: config.dedupWindowMs, onError: onError("dedup cache") }),
		escalation: escalation ?? {
			start: (tenant, alerts) => escalations.start(tenant, alerts),
			stop: (tenant, alertId, reason) => escalations.stop(tenant, alertId, reason),
		},
		knowledgeBase,
		metrics: createAlertMetrics(metrics.registry),
		onError: (error, context) =>
			logger.error({ err: error, component: "alert", context }, `alert pipeline: ${context} failed`),
	});

	// The key that seals stored secrets: configured, or for the embedded default a key file made
	// when the first secret is stored. Processes sharing a PostgreSQL database must share the key,
	// so there it must be configured, and nothing is written to the data directory.
	let keyFromFile: Buffer | undefined;
	const secretKey = (): Buffer => {
		if (config.secretKey) return config.secretKey;
		if (config.databaseUrl) {
			throw new AppError(
				"unprocessable",
				"secret_key.missing",
				"Storing secrets (Slack tokens, the Slack install) with PostgreSQL needs OPSWATCH_SECRET_KEY, the same in every OpsWatch process",
			);
		}
		keyFromFile ??= loadOrCreateKeyFile(config.dataDir);
		return keyFromFile;
	};
	const slackInstallations = createInstallations({
		db: database.db,
		clock,
		tenants,
		box: createSecretBox(secretKey),
		deploymentToken: config.slack.botToken,
	});
	// Slack pages exist once the deployment has a Slack app of any kind; a tenant without a
	// workspace then falls through to its members' next contact method.
	const slackApp = config.slack.botToken || config.slack.signingSecret || config.slack.oauth;
	const senders = createSenders({
		publicUrl,
		timeoutMs: config.providerTimeoutMs,
		slack: slackApp ? { apiUrl: config.slack.apiUrl, tokenFor: slackInstallations.tokenFor } : undefined,
		twilio: config.twilio,
		webPush: config.webPush,
		vonage: config.vonage,
	});
	const notice = (fields: Record<string, unknown>, message: string) => logger.info(fields, message);
	const handoffAnnouncer = createHandoffAnnouncer({
		members,
		slackSay: senders.slackSay,
		notice: (fields, message) => notice({ component: "roster", ...fields }, message),
		onError: (error, context) => logger.error({ err: error, component: "roster", context }, `${context} failed`),
	});
	const escalations: EscalationApi = createEscalationService({
		db: database.db,
		clock,
		bus,
		tenants,
		members,
		alerts: alertDesk(alerts, knowledgeBase, publicUrl),
		resolverFor: (tenant) => rosterResolver(rosters, tenant),
		alertsUrl: `${publicUrl}/alerts`,
		channels: senders,
		metrics: createEscalationMetrics(metrics.registry, () => countOverdue(database.db, clock.now(), 5000)),
		onError: (error, context) =>
			logger.error({ err: error, component: "escalation", context }, `escalation: ${context} failed`),
		notice: (fields, message) => notice({ component: "escalation", ...fields }, message),
	});

	// Sessions live where the deployment shares state: Redis, else the database (so the embedded
	// default keeps people signed in across a restart).
	const sessions = createSessions(
		config.redisUrl ? cacheSessionStore(cache) : databaseSessionStore(database.db, clock),
		config.sessionTtlMinutes * 60_000,
	);
	const slackBot = createSlackBot({
		alerts,
		knowledgeBase,
		rosters,
		members,
		tenants,
		installations: slackInstallations,
		web: createSlackWeb({ apiUrl: config.slack.apiUrl, timeoutMs: config.providerTimeoutMs }),
		bus,
		cache,
		clock,
		publicUrl,
		oauth: config.slack.oauth && { ...config.slack.oauth, stateKey: secretKey },
		onError: (error, context) => logger.error({ err: error, component: "slack", context }, `slack: ${context} failed`),
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
		escalations,
		handoffAnnouncer,
		slackBot,
		login: config.oidc?.login
			? createLogin(
					{ ...config.oidc, ...config.oidc.login, redirectUri: `${publicUrl}/api/v1/auth/callback` },
					cache,
					sessions,
				)
			: undefined,
		sessions,
		localLogin: createLocalLogin({ db: database.db, clock, cache, sessions }),
		publicUrl,
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
