import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import {
	jsonSchemaTransform,
	jsonSchemaTransformObject,
	serializerCompiler,
	validatorCompiler,
	type ZodTypeProvider,
} from "fastify-type-provider-zod";
import {
	type AlertApi,
	alertRoutes,
	alertRuleRoutes,
	alertStatsRoutes,
	type SeverityRuleApi,
} from "../../alert/index.ts";
import {
	type EscalationApi,
	escalationPolicyRoutes,
	escalationRoutes,
	type PolicyApi,
	twilioWebhookRoutes,
	vonageWebhookRoutes,
} from "../../escalation/index.ts";
import { type KnowledgeBaseApi, knowledgeBaseRoutes, type RunbookApi } from "../../incident/index.ts";
import { webhookRoutes } from "../../integration/index.ts";
import type { EventBus } from "../../platform/bus/index.ts";
import type { Clock } from "../../platform/clock.ts";
import type { Logger } from "../../platform/log.ts";
import type { Metrics } from "../../platform/metrics.ts";
import { type RosterApi, rosterRoutes } from "../../roster/index.ts";
import { type SlackBot, slackAdminRoutes, slackRoutes } from "../../slack/index.ts";
import {
	type LocalLogin,
	type Login,
	loginRoutes,
	type MemberApi,
	memberRoutes,
	passwordRoutes,
	type Sessions,
	selfServiceRoutes,
	type TenantApi,
	tenantRoutes,
} from "../../tenant/index.ts";
import { registerAdmission } from "./admission.ts";
import { type RateLimits, registerAuth } from "./auth.ts";
import { registerErrorHandling } from "./errors.ts";
import { healthRoutes, type ReadinessCheck } from "./health.ts";
import { jsonBodyParser } from "./json-body.ts";
import { lazyRequestLogger } from "./request-logger.ts";

export interface HttpServerDeps {
	logger: Logger;
	metrics: Metrics;
	bodyLimitBytes: number;
	maxInFlightBodyBytes: number;
	readiness: ReadinessCheck[];
	/** Absent in worker mode, which serves only health and metrics. */
	api?: {
		tenants: TenantApi;
		alerts: AlertApi;
		alertRules: SeverityRuleApi;
		knowledgeBase: KnowledgeBaseApi;
		runbooks: RunbookApi;
		members: MemberApi;
		rosters: RosterApi;
		policies: PolicyApi;
		escalations: EscalationApi;
		/** Set when Twilio is configured: its callbacks are verified with the auth token over this URL. */
		twilio?: { authToken: string; publicUrl: string };
		/** Set when Web Push is configured. */
		webPush?: { publicKey: string; allowHttp: boolean };
		/** The Slack bot; requests to the OpsWatch app's endpoints are verified with its signing secret (when set). */
		slack: { bot: SlackBot; signingSecret: string | undefined };
		/** Set when Vonage is configured: its callbacks are verified with the signature secret. */
		vonage?: { signatureSecret: string; smsSignatureMethod: "md5hash" | "sha256" };
		clock: Clock;
		bus: EventBus;
		maxAlertsPerRequest: number;
		/** Browser sessions: local passwords, and the identity provider's sign-in when configured. */
		login: { sessions: Sessions; localLogin: LocalLogin; login: Login | undefined; publicUrl: string };
		/** Requests per minute per API key and per tenant; beyond, 429 with Retry-After. */
		rateLimits: RateLimits;
	};
	version: string;
}

const quietPaths = new Set(["/healthz", "/readyz", "/metrics"]);
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
	const app = Fastify({
		loggerInstance: deps.logger as FastifyBaseLogger,
		childLoggerFactory: lazyRequestLogger,
		bodyLimit: deps.bodyLimitBytes,
		logController: new LogController({
			requestIdLogLabel: "request_id",
			// Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
			disableRequestLogging: (req: { url?: string }) => quietPaths.has(req.url ?? ""),
		}),
		// Keep a caller's X-Request-Id when it is sane, so a request can be followed across systems.
		requestIdHeader: false,
		genReqId: (req) => {
			const incoming = req.headers["x-request-id"];
			return typeof incoming === "string" && requestIdPattern.test(incoming) ? incoming : randomUUID();
		},
		// Closing idle keep-alive sockets on close() lets SIGTERM finish promptly.
		forceCloseConnections: "idle",
		return503OnClosing: true,
	}).withTypeProvider<ZodTypeProvider>();

	// JSON only: Fastify's default text/plain parser would turn a wrong content type into a confusing 400.
	app.removeContentTypeParser("text/plain");
	const parseJson = jsonBodyParser(app);
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "string" }, parseJson);
	app.setValidatorCompiler(validatorCompiler);
	app.setSerializerCompiler(serializerCompiler);
	registerErrorHandling(app, deps.bodyLimitBytes);
	registerAdmission(app, { maxInFlightBytes: deps.maxInFlightBodyBytes, bodyLimitBytes: deps.bodyLimitBytes });

	// Hooks that never wait are written with `done`: an async hook costs a promise on every request.
	app.addHook("onRequest", (request, reply, done) => {
		reply.header("x-request-id", request.id);
		done();
	});
	app.addHook("onResponse", (request, reply, done) => {
		deps.metrics.httpRequestDuration.observe(
			[request.method, request.routeOptions.url ?? "unmatched", String(reply.statusCode)],
			reply.elapsedTime / 1000,
		);
		done();
	});

	await app.register(swagger, {
		openapi: {
			openapi: "3.1.0",
			info: {
				title: "OpsWatch API",
				version: deps.version,
				description:
					"On-call and alert management. Authenticate with an API key in `X-API-Key` or `Authorization: Bearer`; " +
					"`/api/v1/admin/tenants…` takes the platform-admin token; a tenant's audit log and statistics (`/api/v1/admin/audit-log`, `/stats`) take its admin or manager. Errors are `{ error: { code, message, fields?, requestId } }`.",
			},
			components: {
				securitySchemes: {
					apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
					bearer: { type: "http", scheme: "bearer" },
				},
			},
			security: [{ apiKey: [] }, { bearer: [] }],
		},
		transform: jsonSchemaTransform,
		transformObject: jsonSchemaTransformObject,
	});
	await app.register(swaggerUi, { routePrefix: "/api/docs" });

	// Before the auth hook, so a browser's session cookie is read by the time it runs.
	await app.register(cookie);
	const refuseAll = async () => ({ ok: false as const, code: "auth.invalid_credential" as const, message: "" });
	registerAuth(
		app,
		deps.api?.tenants ?? {
			authenticate: refuseAll,
			authenticateKnown: () => undefined,
			authenticateIdentity: refuseAll,
			recordRefusal: async () => {},
		},
		deps.api?.rateLimits,
		deps.api?.login.sessions,
	);

	app.get("/api/v1/openapi.json", { config: { auth: "public" }, schema: { hide: true } }, async () => app.swagger());
	await app.register(healthRoutes, { checks: deps.readiness, metrics: deps.metrics });
	if (deps.api) {
		await app.register(tenantRoutes, { tenants: deps.api.tenants });
		await app.register(loginRoutes, deps.api.login);
		await app.register(alertRoutes, { alerts: deps.api.alerts, bus: deps.api.bus });
		await app.register(alertStatsRoutes, {
			alerts: deps.api.alerts,
			escalationsByTier: deps.api.escalations.tierStats,
			now: () => clock.now(),
		});
		await app.register(alertRuleRoutes, { rules: deps.api.alertRules });
		await app.register(knowledgeBaseRoutes, { knowledgeBase: deps.api.knowledgeBase, runbooks: deps.api.runbooks });
		await app.register(memberRoutes, { members: deps.api.members });
		await app.register(selfServiceRoutes, { members: deps.api.members });
		await app.register(passwordRoutes, { localLogin: deps.api.login.localLogin });
		const clock = deps.api.clock;
		const members = deps.api.members;
		await app.register(rosterRoutes, {
			rosters: deps.api.rosters,
			memberZones: async (tenant, ids) => new Map((await members.findMany(tenant, ids)).map((m) => [m.id, m.timeZone])),
			now: () => clock.now(),
		});
		await app.register(escalationPolicyRoutes, { policies: deps.api.policies, now: () => clock.now() });
		await app.register(escalationRoutes, { escalations: deps.api.escalations, webPush: deps.api.webPush });
		if (deps.api.twilio) {
			await app.register(twilioWebhookRoutes, { escalations: deps.api.escalations, ...deps.api.twilio });
		}
		await app.register(slackRoutes, { ...deps.api.slack, tenants: deps.api.tenants, now: () => clock.now() });
		await app.register(slackAdminRoutes, { bot: deps.api.slack.bot });
		if (deps.api.vonage) {
			await app.register(vonageWebhookRoutes, { escalations: deps.api.escalations, ...deps.api.vonage });
		}
		await app.register(webhookRoutes, {
			alerts: deps.api.alerts,
			tenants: deps.api.tenants,
			maxAlertsPerRequest: deps.api.maxAlertsPerRequest,
			parseJson,
		});
	}

	return app;
}
