import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { EventBus } from "../platform/bus/index.ts";
import { AppError } from "../platform/errors.ts";
import { actorName, actorOf, type TenantRef, tenantPrincipal } from "../tenant/index.ts";
import { labelMatcherSchema, type SeverityRule } from "./rules.ts";
import type { SeverityRuleApi } from "./rules-service.ts";
import { type AlertApi, alertTopic } from "./service.ts";
import { type Alert, type AlertEvent, alertSorts, sortOrders } from "./store.ts";
import { alertSources, alertStatuses, severities } from "./types.ts";

export interface AlertRoutesOptions {
	alerts: AlertApi;
	/** Where the pipeline publishes alert events (`alertTopic`). */
	bus: Pick<EventBus, "subscribe">;
	/** Seconds between keep-alive comments on the event stream (proxies drop silent connections). */
	heartbeatSeconds?: number;
}

const dateTime = z.string().meta({ format: "date-time" });

const knowledgeBaseDto = z
	.object({
		id: z.uuid(),
		title: z.string(),
		solution: z.string().meta({ description: "Markdown: how this was fixed before" }),
		rootCause: z.string(),
		runbooks: z.array(z.object({ id: z.uuid(), title: z.string() })),
	})
	.meta({ id: "AlertKnowledge", description: "The knowledge-base entry that explains this alert" });

export const alertDto = z
	.object({
		id: z.uuid(),
		source: z.enum(alertSources),
		fingerprint: z.string(),
		status: z.enum(alertStatuses),
		severity: z.enum(severities),
		title: z.string(),
		description: z.string(),
		labels: z.record(z.string(), z.string()),
		annotations: z.record(z.string(), z.string()),
		startsAt: dateTime,
		endsAt: dateTime.nullable(),
		generatorUrl: z.string().nullable(),
		occurrences: z.number().int(),
		firstSeenAt: dateTime,
		lastSeenAt: z.string().meta({
			format: "date-time",
			description: "When the alert was last received; repeats move it once it is a second behind",
		}),
		acknowledgedAt: dateTime.nullable(),
		acknowledgedBy: z.string().nullable(),
		resolvedAt: dateTime.nullable(),
		resolvedBy: z.string().nullable(),
		resolutionNotes: z.string().nullable(),
		knowledgeBaseEntryId: z.uuid().nullable(),
	})
	.meta({ id: "Alert" });

const eventDto = z
	.object({ id: z.uuid(), at: dateTime, type: z.string(), actor: z.string().nullable(), details: z.unknown() })
	.meta({ id: "AlertEvent" });

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const toAlertDto = (alert: Alert) => ({
	id: alert.id,
	source: alert.source,
	fingerprint: alert.fingerprint,
	status: alert.status,
	severity: alert.severity,
	title: alert.title,
	description: alert.description,
	labels: alert.labels,
	annotations: alert.annotations,
	startsAt: alert.startsAt.toISOString(),
	endsAt: iso(alert.endsAt),
	generatorUrl: alert.generatorUrl,
	occurrences: alert.occurrences,
	firstSeenAt: alert.firstSeenAt.toISOString(),
	lastSeenAt: alert.lastSeenAt.toISOString(),
	acknowledgedAt: iso(alert.acknowledgedAt),
	acknowledgedBy: alert.acknowledgedBy,
	resolvedAt: iso(alert.resolvedAt),
	resolvedBy: alert.resolvedBy,
	resolutionNotes: alert.resolutionNotes,
	knowledgeBaseEntryId: alert.kbIncidentId,
});

const toEventDto = (event: AlertEvent) => ({
	id: event.id,
	at: event.at.toISOString(),
	type: event.type,
	actor: event.actor,
	details: event.details,
});

/** `a,b` → ["a","b"], each checked against the allowed values. */
const csvOf = <T extends readonly [string, ...string[]]>(values: T) =>
	z
		.string()
		.transform((text) => text.split(",").map((part) => part.trim()))
		.pipe(z.array(z.enum(values)));

const listQuery = z
	.object({
		status: csvOf(alertStatuses).optional().meta({ description: "Comma-separated statuses" }),
		severity: csvOf(severities).optional().meta({ description: "Comma-separated severities" }),
		source: csvOf(alertSources).optional().meta({ description: "Comma-separated sources" }),
		label: z
			.union([z.string(), z.array(z.string())])
			.optional()
			.transform((value) => (value === undefined ? [] : [value].flat()))
			.pipe(z.array(z.string().regex(/^[^=]+=.*$/, "must be key=value")))
			.meta({ description: "key=value; repeat for several (all must match)" }),
		q: z.string().max(200).optional().meta({ description: "Text in title or description" }),
		since: z.iso.datetime({ offset: true }).optional().meta({ description: "Last activity at or after" }),
		until: z.iso.datetime({ offset: true }).optional().meta({ description: "Last activity before" }),
		sort: z
			.enum(alertSorts)
			.default("last_seen")
			.meta({
				description:
					"last_seen (last activity), first_seen (when it opened), severity (critical first), occurrences " +
					"(most repeats first); severity and occurrences break ties by last activity",
			}),
		order: z.enum(sortOrders).default("desc").meta({ description: "desc (newest, most) or asc" }),
		limit: z.coerce.number().int().min(1).max(500).default(50),
		cursor: z
			.string()
			.max(500)
			.optional()
			.meta({ description: "A previous page's nextCursor, with the same sort and order" }),
	})
	.strict();

/** Who acts, as recorded on the alert: the API key (or, with sign-in, the member). */

export const alertRoutes: FastifyPluginAsyncZod<AlertRoutesOptions> = async (app, options) => {
	const { alerts, bus, heartbeatSeconds = 15 } = options;
	const tags = ["alerts"];
	const streams = new Set<() => void>();
	// Open event streams would hold a graceful shutdown until its deadline: end them first.
	app.addHook("preClose", async () => {
		for (const end of streams) end();
	});

	app.get(
		"/api/v1/events",
		{
			config: { auth: { permission: "alerts.read" } },
			schema: {
				tags,
				summary: "Server-Sent Events: this tenant's alert.created/updated/acknowledged/resolved as they happen",
				description:
					"`text/event-stream`; each event's `data` is JSON with alertId and fingerprint. `alert.updated` " +
					'(`"change": "repeated"`) says repeats moved an open alert\'s count and last-seen time; it comes at ' +
					"most once a second per alert.",
			},
		},
		async (request, reply) => {
			const tenant = tenantPrincipal(request).tenant;
			reply.hijack();
			const raw = reply.raw;
			raw.writeHead(200, {
				"content-type": "text/event-stream; charset=utf-8",
				"cache-control": "no-cache",
				connection: "keep-alive",
				"x-request-id": request.id,
			});
			raw.write(": connected\n\n");
			const unsubscribe = await bus.subscribe<{ type: string }>(alertTopic(tenant), ({ payload }) => {
				raw.write(`event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`);
			});
			const heartbeat = setInterval(() => raw.write(": keep-alive\n\n"), heartbeatSeconds * 1000);
			let ended = false;
			const end = () => {
				if (ended) return;
				ended = true;
				clearInterval(heartbeat);
				streams.delete(end);
				unsubscribe().catch((error) => request.log.warn({ err: error }, "unsubscribe failed"));
				raw.end();
			};
			streams.add(end);
			raw.on("close", end);
		},
	);

	app.get(
		"/api/v1/alerts",
		{
			config: { auth: { permission: "alerts.read" } },
			schema: {
				tags,
				summary: "List alerts, newest activity first or as sorted",
				querystring: listQuery,
				response: { 200: z.object({ alerts: z.array(alertDto), nextCursor: z.string().optional() }) },
			},
		},
		async (request) => {
			const q = request.query;
			const labels = Object.fromEntries(
				q.label.map((pair) => {
					const at = pair.indexOf("=");
					return [pair.slice(0, at), pair.slice(at + 1)];
				}),
			);
			const page = await alerts.list(tenantPrincipal(request).tenant, {
				status: q.status,
				severity: q.severity,
				source: q.source,
				labels,
				text: q.q,
				since: q.since ? new Date(q.since) : undefined,
				until: q.until ? new Date(q.until) : undefined,
				sort: q.sort,
				order: q.order,
				limit: q.limit,
				cursor: q.cursor,
			});
			return { alerts: page.alerts.map(toAlertDto), nextCursor: page.nextCursor };
		},
	);

	app.get(
		"/api/v1/alerts/:id",
		{
			config: { auth: { permission: "alerts.read" } },
			schema: {
				tags,
				summary: "An alert with its timeline, its knowledge-base entry and what the sender sent",
				params: z.object({ id: z.uuid() }),
				response: {
					200: z.object({
						alert: alertDto,
						raw: z.unknown().meta({
							description:
								"The sender's own object for this alert, as it arrived: an Alertmanager alert of its group, a Keep " +
								"AlertDto, a generic alert, or a PagerDuty event without its routing_key; null if none was kept",
						}),
						timeline: z.array(eventDto).meta({
							description:
								"Oldest first: created, deduplicated, acknowledged, resolved, escalated, notified. Repeats are one " +
								"`deduplicated` entry: `details.repeats` counts them, `at` is the last (to the second).",
						}),
						knowledgeBase: knowledgeBaseDto.nullable(),
					}),
				},
			},
		},
		async (request) => {
			const { alert, events, knowledgeBase } = await alerts.get(tenantPrincipal(request).tenant, request.params.id);
			return {
				alert: toAlertDto(alert),
				raw: alert.raw ?? null,
				timeline: events.map(toEventDto),
				knowledgeBase: knowledgeBase ?? null,
			};
		},
	);

	app.patch(
		"/api/v1/alerts/:id/acknowledge",
		{
			config: { auth: { permission: "alerts.respond" } },
			schema: {
				tags,
				summary: "Acknowledge an alert (stops its escalation); repeating it is harmless",
				params: z.object({ id: z.uuid() }),
				response: { 200: z.object({ alert: alertDto }) },
			},
		},
		async (request) => {
			const principal = tenantPrincipal(request);
			const actor = actorOf(request);
			const alert = await alerts.acknowledge(principal.tenant, request.params.id, actorName(actor), undefined, actor);
			return { alert: toAlertDto(alert) };
		},
	);

	app.patch(
		"/api/v1/alerts/:id/resolve",
		{
			config: { auth: { permission: "alerts.respond" } },
			schema: {
				tags,
				summary: "Resolve an alert, optionally with resolution notes; repeating it is harmless",
				params: z.object({ id: z.uuid() }),
				body: z
					.object({ notes: z.string().max(65536).optional().meta({ description: "How it was fixed" }) })
					.strict()
					.nullish(),
				response: { 200: z.object({ alert: alertDto }) },
			},
		},
		async (request) => {
			const principal = tenantPrincipal(request);
			const alert = await alerts.resolve(
				principal.tenant,
				request.params.id,
				{
					name: actorName(actorOf(request)),
					kind: principal.type === "api_key" && principal.agent ? "agent" : "member",
					actor: actorOf(request),
				},
				request.body?.notes,
			);
			return { alert: toAlertDto(alert) };
		},
	);
};

const ruleInput = z
	.object({
		name: z.string().min(1).max(200),
		position: z.number().int().min(0).max(1_000_000).meta({ description: "Lower positions are tried first" }),
		matchers: z.array(labelMatcherSchema).min(1).max(50),
		severity: z.enum(severities),
		enabled: z.boolean().default(true),
	})
	.strict();

const ruleDto = z
	.object({
		id: z.uuid(),
		name: z.string(),
		position: z.number().int(),
		matchers: z.array(labelMatcherSchema),
		severity: z.enum(severities),
		enabled: z.boolean(),
		version: z.number().int(),
		createdAt: dateTime,
		updatedAt: dateTime,
	})
	.meta({ id: "AlertRule" });

const toRuleDto = (rule: SeverityRule) => ({
	...rule,
	createdAt: rule.createdAt.toISOString(),
	updatedAt: rule.updatedAt.toISOString(),
});

/** Tenant severity rules: applied to alerts that state no severity of their own. */
export const alertRuleRoutes: FastifyPluginAsyncZod<{ rules: SeverityRuleApi }> = async (app, { rules }) => {
	const tags = ["alert rules"];
	const params = z.object({ id: z.uuid() });

	app.get(
		"/api/v1/alert-rules",
		{
			config: { auth: { permission: "alert_rules.read" } },
			schema: {
				tags,
				summary: "List severity rules in the order they are tried",
				response: { 200: z.object({ rules: z.array(ruleDto) }) },
			},
		},
		async (request) => ({ rules: (await rules.list(tenantPrincipal(request).tenant)).map(toRuleDto) }),
	);

	app.post(
		"/api/v1/alert-rules",
		{
			config: { auth: { permission: "alert_rules.manage" } },
			schema: {
				tags,
				summary: "Create a severity rule",
				body: ruleInput,
				response: { 201: z.object({ rule: ruleDto }) },
			},
		},
		async (request, reply) => {
			const rule = await rules.create(tenantPrincipal(request).tenant, request.body, actorOf(request));
			return reply.status(201).send({ rule: toRuleDto(rule) });
		},
	);

	app.get(
		"/api/v1/alert-rules/:id",
		{
			config: { auth: { permission: "alert_rules.read" } },
			schema: { tags, summary: "Get a severity rule", params, response: { 200: z.object({ rule: ruleDto }) } },
		},
		async (request) => ({ rule: toRuleDto(await rules.get(tenantPrincipal(request).tenant, request.params.id)) }),
	);

	app.put(
		"/api/v1/alert-rules/:id",
		{
			config: { auth: { permission: "alert_rules.manage" } },
			schema: {
				tags,
				summary: "Replace a severity rule; send the version you read (a stale one gets 409)",
				params,
				body: ruleInput.extend({ version: z.number().int().min(1) }).strict(),
				response: { 200: z.object({ rule: ruleDto }) },
			},
		},
		async (request) => {
			const { version, ...input } = request.body;
			const rule = await rules.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				input,
				actorOf(request),
			);
			return { rule: toRuleDto(rule) };
		},
	);

	app.delete(
		"/api/v1/alert-rules/:id",
		{
			config: { auth: { permission: "alert_rules.manage" } },
			schema: {
				tags,
				summary: "Delete a severity rule",
				params,
				response: { 204: z.null().meta({ description: "Deleted" }) },
			},
		},
		async (request, reply) => {
			await rules.remove(tenantPrincipal(request).tenant, request.params.id, actorOf(request));
			return reply.status(204).send(null);
		},
	);
};

/** The admin statistics (`GET /api/v1/admin/stats`): alerts, response times, escalations, knowledge base. */
export const alertStatsRoutes: FastifyPluginAsyncZod<{
	alerts: Pick<AlertApi, "stats">;
	/** Escalations that reached each tier, from the escalation domain. */
	escalationsByTier(tenant: TenantRef, since: Date, until: Date): Promise<Record<string, number>>;
	now: () => Date;
}> = async (app, { alerts, escalationsByTier, now }) => {
	const DAY_MS = 86_400_000;
	app.get(
		"/api/v1/admin/stats",
		{
			config: { auth: { permission: "stats.read" } },
			schema: {
				tags: ["audit"],
				summary: "The tenant's statistics over a window (default the last 7 days)",
				description:
					"Alerts first seen in [since, until) by severity and source; mean seconds to acknowledge and to resolve; escalations started in the window by the tiers they reached; the share of alerts that arrived with a known fix.",
				querystring: z
					.object({
						since: z.iso.datetime({ offset: true }).optional(),
						until: z.iso.datetime({ offset: true }).optional(),
					})
					.strict(),
			},
		},
		async (request) => {
			const until = request.query.until ? new Date(request.query.until) : now();
			const since = request.query.since ? new Date(request.query.since) : new Date(until.getTime() - 7 * DAY_MS);
			if (since >= until) {
				throw new AppError("validation", "stats.invalid_window", "since must be before until", {
					fields: [{ path: "querystring.since", message: "must be before until" }],
				});
			}
			if (until.getTime() - since.getTime() > 366 * DAY_MS) {
				throw new AppError("validation", "stats.window_too_long", "The window may span at most 366 days", {
					fields: [{ path: "querystring.since", message: "at most 366 days before until" }],
				});
			}
			const tenant = tenantPrincipal(request).tenant;
			const [stats, byTier] = await Promise.all([
				alerts.stats(tenant, since, until),
				escalationsByTier(tenant, since, until),
			]);
			return {
				window: { since: since.toISOString(), until: until.toISOString() },
				alerts: { total: stats.total, bySeverity: stats.bySeverity, bySource: stats.bySource },
				meanTimeToAcknowledgeSeconds: stats.meanTimeToAcknowledgeSeconds,
				meanTimeToResolveSeconds: stats.meanTimeToResolveSeconds,
				escalationsByTier: byTier,
				knowledgeBaseHitRate: stats.knowledgeBaseHitRate,
			};
		},
	);
};
