import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import type { EscalationStarter } from "../alert/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { Database } from "../platform/db/index.ts";
import { tuneHeap } from "../platform/heap.ts";
import { createLogger, type Logger } from "../platform/log.ts";
import { startTracing } from "../platform/tracing.ts";
import { createHandoffJob } from "../roster/index.ts";
import { bootstrapFirstStart, formatFirstStartBanner } from "./bootstrap.ts";
import { type Config, ConfigError } from "./config.ts";
import { type Container, createContainer, migrateAll } from "./container.ts";
import { buildHttpServer } from "./http/server.ts";
import { type Job, startWorker, type Worker } from "./worker.ts";

export type Mode = "all" | "api" | "worker";
export const modes: readonly Mode[] = ["all", "api", "worker"];

export interface Running {
	app: FastifyInstance;
	container: Container;
	worker: Worker | undefined;
	/** Stops accepting, lets in-flight requests finish, stops the worker, closes DB and Redis. */
	stop(): Promise<void>;
}

/**
 * `api` and `worker` processes only make sense as a group that shares PostgreSQL (state) and
 * Redis (events); the embedded database and in-process bus live inside one process.
 */
export function assertModeSupported(mode: Mode, config: Config): void {
	if (mode === "all") return;
	const missing = [
		!config.databaseUrl && "OPSWATCH_DATABASE_URL (PostgreSQL)",
		!config.redisUrl && "OPSWATCH_REDIS_URL (Redis)",
	].filter(Boolean);
	if (missing.length > 0) {
		throw new ConfigError(
			`--mode=${mode} needs ${missing.join(" and ")}: separate API and worker processes share state through ` +
				"PostgreSQL and events through Redis, while the embedded database and in-process bus live inside a " +
				"single process. Set them, or run --mode=all.",
		);
	}
}

export interface StartOptions {
	/** Tests hand in a per-file database and a quiet logger, and skip the first-start banner. */
	database?: Database;
	logger?: Logger;
	firstStart?: boolean;
	escalation?: EscalationStarter;
	publicUrl?: string;
	/** Tests move time by hand. */
	clock?: Clock;
}

/** Answers mentions of the Slack bot and DMs to it, handed over by the API on the bus. */
function slackEventsJob(container: Container): Job {
	let unsubscribe: (() => Promise<void>) | undefined;
	return {
		name: "slack-events",
		start: async () => {
			unsubscribe = container.slackBot.events.startWorker();
		},
		stop: async () => {
			await unsubscribe?.();
			await container.slackBot.events.settled();
		},
	};
}

/** The background jobs of a worker process (`--mode=worker`, and inside `--mode=all`). */
function workerJobs(container: Container): Job[] {
	const { logger } = container;
	return [
		{
			name: "escalations",
			start: () => container.escalations.startWorker(),
			stop: () => container.escalations.stopWorker(),
		},
		slackEventsJob(container),
		createHandoffJob({
			tenants: container.tenants,
			rosters: container.rosters,
			clock: container.clock,
			onError: (error) => logger.error({ err: error, job: "roster-handoffs" }, "roster handoff check failed"),
			notifier: container.handoffAnnouncer,
		}),
	];
}

export async function startServer(
	config: Config,
	mode: Mode,
	version: string,
	options: StartOptions = {},
): Promise<Running> {
	assertModeSupported(mode, config);
	const logger = options.logger ?? createLogger(config.logLevel);
	const tracing = config.otlpEndpoint ? await startTracing(config.otlpEndpoint, version) : undefined;
	const container = await createContainer({
		config,
		logger,
		database: options.database,
		escalation: options.escalation,
		publicUrl: options.publicUrl,
		clock: options.clock,
	});
	let app: FastifyInstance | undefined;
	let worker: Worker | undefined;
	try {
		await migrateAll(container);

		const firstStart =
			mode === "all" && container.database.backend === "pglite" && options.firstStart !== false
				? await bootstrapFirstStart(container.tenants, container, {
						adminTokenConfigured: Boolean(config.adminToken),
					})
				: undefined;

		app = await buildHttpServer({
			logger,
			metrics: container.metrics,
			bodyLimitBytes: config.bodyLimitBytes,
			maxInFlightBodyBytes: config.maxInFlightBodyBytes,
			readiness: container.readiness,
			api:
				mode === "worker"
					? undefined
					: {
							tenants: container.tenants,
							alerts: container.alerts,
							alertRules: container.alertRules,
							knowledgeBase: container.knowledgeBase,
							runbooks: container.runbooks,
							members: container.members,
							rosters: container.rosters,
							policies: container.policies,
							escalations: container.escalations,
							twilio: config.twilio && { authToken: config.twilio.authToken, publicUrl: container.publicUrl },
							webPush: config.webPush && { publicKey: config.webPush.publicKey, allowHttp: config.webPush.allowHttp },
							slack: { bot: container.slackBot, signingSecret: config.slack.signingSecret },
							vonage: config.vonage && {
								signatureSecret: config.vonage.signatureSecret,
								smsSignatureMethod: config.vonage.smsSignatureMethod,
							},
							clock: container.clock,
							bus: container.bus,
							maxAlertsPerRequest: config.maxAlertsPerRequest,
							login: {
								sessions: container.sessions,
								localLogin: container.localLogin,
								login: container.login,
								publicUrl: container.publicUrl,
							},
							rateLimits: {
								limiter: container.rateLimiter,
								...config.rateLimits,
								onError: (error) =>
									logger.warn({ err: error, component: "ratelimit" }, "rate limiter failed; request let through"),
							},
						},
			version,
		});
		if (mode !== "api") {
			worker = await startWorker({ logger, bus: container.bus, jobs: workerJobs(container) });
		}
		await app.listen({ host: config.host, port: config.port });

		const address = app.server.address();
		const port = typeof address === "object" && address ? address.port : config.port;
		const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
		logger.info(
			{ mode, backend: container.database.backend, bus: config.redisUrl ? "redis" : "in-process", port },
			`OpsWatch ${version} ready on http://${shownHost}:${port} (mode ${mode})`,
		);
		// Printed, not logged: credentials never go into logs, and this is for the person at the terminal.
		if (firstStart) process.stdout.write(formatFirstStartBanner(firstStart, `http://${shownHost}:${port}`));
	} catch (error) {
		await app?.close().catch(() => {});
		await worker?.stop().catch(() => {});
		await container.close().catch(() => {});
		await tracing?.shutdown().catch(() => {});
		throw error;
	}

	const started = app;
	let stopping: Promise<void> | undefined;
	return {
		app: started,
		container,
		worker,
		stop: () => {
			stopping ??= (async () => {
				await started.close();
				await worker?.stop();
				await container.close();
				await tracing?.shutdown();
			})();
			return stopping;
		},
	};
}

/** Runs until SIGTERM/SIGINT, then shuts down gracefully within the configured timeout. */
export async function serve(config: Config, mode: Mode, version: string): Promise<void> {
	tuneHeap();
	const running = await startServer(config, mode, version);
	const logger = running.container.logger;
	closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
		if (err) logger.error({ err }, "shutting down after an unexpected error");
		else logger.info({ signal }, "shutting down: finishing in-flight requests");
		await running.stop();
		logger.info("stopped");
	});
}
