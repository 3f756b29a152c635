import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { assertValidMatchers, labelMatcherSchema } from "../alert/index.ts";
import { AppError } from "../platform/errors.ts";
import { actorOf, signedInMember, tenantPrincipal } from "../tenant/index.ts";
import type { EscalationApi } from "./escalations.ts";
import type { Notification } from "./outbox-store.ts";
import type { PolicyApi } from "./policies.ts";
import { type PlannedStep, type Policy, personChannels } from "./types.ts";

const dateTime = z.string().meta({ format: "date-time" });
/** A Slack channel id (C…, G…) as Slack's API wants it. */
const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,20}$/, "must be a Slack channel id such as C024BE91L");
const channels = z.array(z.enum(personChannels)).min(1, "name at least one channel").max(personChannels.length);

const target = z.discriminatedUnion("type", [
	z.object({ type: z.literal("roster_oncall"), rosterId: z.uuid(), channels }).strict(),
	z.object({ type: z.literal("roster_next"), rosterId: z.uuid(), channels }).strict(),
	z.object({ type: z.literal("member"), memberId: z.uuid(), channels }).strict(),
	z.object({ type: z.literal("slack_channel"), channel: slackChannel }).strict(),
]);

const policyInput = z
	.object({
		name: z.string().trim().min(1).max(200),
		description: z.string().max(2000).default(""),
		tiers: z
			.array(
				z
					.object({
						targets: z.array(target).min(1, "a tier needs at least one target").max(20),
						timeoutSeconds: z
							.number()
							.int()
							.min(1, "must be at least 1 second")
							.max(86_400, "must be at most 86400 seconds (a day)"),
					})
					.strict(),
			)
			.min(1, "a policy needs at least one tier")
			.max(10),
		repeat: z.number().int().min(0).max(10, "at most 10 repeats").default(0),
		emergencyChannel: slackChannel.nullable().default(null),
	})
	.strict();

const policyDto = policyInput
	.extend({ id: z.uuid(), version: z.number().int(), createdAt: dateTime, updatedAt: dateTime })
	.meta({ id: "EscalationPolicy" });

const toPolicyDto = (p: Policy) => ({
	...p,
	createdAt: p.createdAt.toISOString(),
	updatedAt: p.updatedAt.toISOString(),
});

const stepDto = z
	.object({
		kind: z.enum(["notify", "post", "skip", "emergency", "exhausted"]),
		at: dateTime,
		attempt: z.number().int().optional(),
		tier: z.number().int().optional(),
		memberId: z.uuid().optional(),
		channel: z.string().optional(),
		via: z.string().optional(),
		reason: z.string().optional(),
	})
	.meta({ id: "EscalationStep" });

const toStepDto = (step: PlannedStep) => ({ ...step, at: step.at.toISOString() });

/** Escalation policies (spec §8.1 Escalation Policies). */
export const escalationPolicyRoutes: FastifyPluginAsyncZod<{ policies: PolicyApi; now: () => Date }> = async (
	app,
	{ policies, now },
) => {
	const tags = ["escalation policies"];
	const read = { auth: { permission: "escalation.read" as const } };
	const manage = { auth: { permission: "escalation.manage" as const } };
	const params = z.object({ id: z.uuid() });

	app.get(
		"/api/v1/escalation-policies",
		{
			config: read,
			schema: {
				tags,
				summary: "List escalation policies",
				response: { 200: z.object({ policies: z.array(policyDto) }) },
			},
		},
		async (request) => ({ policies: (await policies.list(tenantPrincipal(request).tenant)).map(toPolicyDto) }),
	);

	app.post(
		"/api/v1/escalation-policies",
		{
			config: manage,
			schema: {
				tags,
				summary: "Create an escalation policy",
				body: policyInput,
				response: { 201: z.object({ policy: policyDto }) },
			},
		},
		async (request, reply) => {
			const policy = await policies.create(tenantPrincipal(request).tenant, request.body, actorOf(request));
			return reply.status(201).send({ policy: toPolicyDto(policy) });
		},
	);

	app.post(
		"/api/v1/escalation-policies/from-template",
		{
			config: manage,
			schema: {
				tags,
				summary:
					"Create the spec's default policy: on call (Slack DM + push) → backup (Slack DM + phone) → lead (phone + team channel) → emergency channel",
				body: z
					.object({
						template: z.literal("default"),
						rosterId: z.uuid(),
						leadMemberId: z.uuid(),
						teamChannel: slackChannel,
						emergencyChannel: slackChannel,
					})
					.strict(),
				response: { 201: z.object({ policy: policyDto }) },
			},
		},
		async (request, reply) => {
			const policy = await policies.createDefault(tenantPrincipal(request).tenant, request.body, actorOf(request));
			return reply.status(201).send({ policy: toPolicyDto(policy) });
		},
	);

	app.get(
		"/api/v1/escalation-policies/:id",
		{
			config: read,
			schema: { tags, summary: "An escalation policy", params, response: { 200: z.object({ policy: policyDto }) } },
		},
		async (request) => ({
			policy: toPolicyDto(await policies.get(tenantPrincipal(request).tenant, request.params.id)),
		}),
	);

	app.put(
		"/api/v1/escalation-policies/:id",
		{
			config: manage,
			schema: {
				tags,
				summary: "Replace an escalation policy; send the version you read (a stale one gets 409)",
				params,
				body: policyInput.extend({ version: z.number().int().min(1) }).strict(),
				response: { 200: z.object({ policy: policyDto }) },
			},
		},
		async (request) => {
			const { version, ...input } = request.body;
			const policy = await policies.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				input,
				actorOf(request),
			);
			return { policy: toPolicyDto(policy) };
		},
	);

	app.get(
		"/api/v1/escalation-policies/:id/test",
		{
			config: read,
			schema: {
				tags,
				summary:
					"Dry run: who would be notified, how and when, if an escalation started at `start` (default now); sends nothing",
				params,
				querystring: z
					.object({
						start: z.iso
							.datetime({ offset: true, message: "must be an ISO 8601 date-time with an offset" })
							.transform((s) => new Date(s))
							.optional(),
					})
					.strict(),
				response: { 200: z.object({ start: dateTime, steps: z.array(stepDto) }) },
			},
		},
		async (request) => {
			const start = request.query.start ?? now();
			const steps = await policies.dryRun(tenantPrincipal(request).tenant, request.params.id, start);
			return { start: start.toISOString(), steps: steps.map(toStepDto) };
		},
	);
};

const routesDto = z
	.object({
		routes: z
			.array(
				z
					.object({
						matchers: z
							.array(labelMatcherSchema)
							.min(1, "a route needs at least one matcher (use defaultPolicyId for the rest)")
							.max(20),
						policyId: z.uuid(),
					})
					.strict(),
			)
			.max(100),
		defaultPolicyId: z.uuid().nullable(),
	})
	.strict()
	.meta({
		id: "EscalationRoutes",
		description: "Tried in order; the first whose matchers all match an alert's labels picks the policy",
	});

const notificationDto = z
	.object({
		id: z.uuid(),
		alertId: z.uuid(),
		memberId: z.uuid().nullable(),
		pass: z.number().int(),
		tier: z.number().int(),
		channel: z.string().meta({ description: "How it was delivered" }),
		requestedChannel: z
			.string()
			.meta({ description: "What the policy asked for; differs after a fall-through (e.g. push → inbox)" }),
		status: z.enum(["pending", "sending", "sent", "failed", "cancelled"]),
		tries: z.number().int(),
		title: z.string(),
		severity: z.string(),
		lastError: z.string().nullable(),
		createdAt: dateTime,
		scheduledAt: dateTime.meta({
			description: "When it is to go out: the tier's instant, or later for a follow-up rule",
		}),
		sentAt: dateTime.nullable(),
	})
	.meta({ id: "Notification", description: "One page; phone numbers and Slack ids are not shown" });

/** Which of a member's pages to list. */
const notificationQuery = z
	.object({
		channel: z.enum([...personChannels, "slack_channel"]).optional(),
		limit: z.coerce.number().int().min(1).max(500).default(50),
	})
	.strict();

const toNotificationDto = (n: Notification) => ({
	id: n.id,
	alertId: n.alertId,
	memberId: n.memberId,
	pass: n.attempt + 1,
	tier: n.tier + 1,
	channel: n.channel,
	requestedChannel: n.channel === "slack_channel" ? n.channel : (n.key.split(">")[0]?.split(":").at(-1) ?? n.channel),
	status: n.status,
	tries: n.tries,
	title: n.message.title,
	severity: n.message.severity,
	lastError: n.lastError,
	createdAt: n.createdAt.toISOString(),
	scheduledAt: n.scheduledAt.toISOString(),
	sentAt: n.sentAt?.toISOString() ?? null,
});

const base64url = (bytes: number) =>
	z
		.string()
		.regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}={0,2}$`), `must be ${bytes} bytes, base64url`);

const pushSubscriptionDto = z
	.object({ id: z.uuid(), endpoint: z.string(), createdAt: dateTime })
	.meta({ id: "PushSubscription" });

/** Alert routing to policies, running escalations and what they sent (spec §8.1). */
export const escalationRoutes: FastifyPluginAsyncZod<{
	escalations: EscalationApi;
	/** Set when Web Push is configured. */
	webPush?: { publicKey: string; allowHttp: boolean };
}> = async (app, { escalations, webPush }) => {
	const tags = ["escalations"];
	const read = { auth: { permission: "escalation.read" as const } };

	app.get(
		"/api/v1/escalation-routes",
		{ config: read, schema: { tags, summary: "Which policy pages for which alerts", response: { 200: routesDto } } },
		async (request) => escalations.getRoutes(tenantPrincipal(request).tenant),
	);

	app.put(
		"/api/v1/escalation-routes",
		{
			config: { auth: { permission: "escalation.manage" as const } },
			schema: {
				tags,
				summary: "Replace the routes: label matchers → policy, tried in order, and the default policy",
				body: routesDto,
				response: { 200: routesDto },
			},
		},
		async (request) => {
			request.body.routes.forEach((route, i) => {
				try {
					assertValidMatchers(route.matchers, "escalation_route.invalid_matcher");
				} catch (error) {
					if (error instanceof AppError && error.fields) {
						throw new AppError(error.kind, error.code, error.message, {
							fields: error.fields.map((f) => ({ ...f, path: `body.routes.${i}.${f.path.replace(/^body\./, "")}` })),
						});
					}
					throw error;
				}
			});
			return escalations.setRoutes(tenantPrincipal(request).tenant, request.body, actorOf(request));
		},
	);

	app.get(
		"/api/v1/alerts/:id/escalation",
		{
			config: read,
			schema: {
				tags,
				summary: "An alert's escalation: its policy snapshot, where it stands, and every page it sent",
				params: z.object({ id: z.uuid() }),
				response: {
					200: z.object({
						escalation: z.object({
							id: z.uuid(),
							policyId: z.uuid().nullable(),
							policyName: z.string(),
							policyVersion: z.number().int(),
							status: z.enum(["active", "acknowledged", "resolved", "exhausted"]),
							nextPass: z.number().int(),
							nextTier: z.number().int(),
							nextActionAt: dateTime.nullable(),
							startedAt: dateTime,
							stoppedAt: dateTime.nullable(),
						}),
						notifications: z.array(notificationDto),
					}),
				},
			},
		},
		async (request) => {
			const { escalation, notifications } = await escalations.ofAlert(
				tenantPrincipal(request).tenant,
				request.params.id,
			);
			return {
				escalation: {
					id: escalation.id,
					policyId: escalation.policyId,
					policyName: escalation.policy.name,
					policyVersion: escalation.policy.version,
					status: escalation.status,
					nextPass: escalation.attempt + 1,
					nextTier: escalation.tier + 1,
					nextActionAt: escalation.nextActionAt?.toISOString() ?? null,
					startedAt: escalation.startedAt.toISOString(),
					stoppedAt: escalation.stoppedAt?.toISOString() ?? null,
				},
				notifications: notifications.map(toNotificationDto),
			};
		},
	);

	const pushEndpoint = z
		.url({
			protocol: webPush?.allowHttp ? /^https?$/ : /^https$/,
			message: "must be the https:// endpoint of a push service",
		})
		.max(2048);
	const memberParams = z.object({ id: z.uuid() });
	const requirePush = () => {
		if (!webPush) {
			throw new AppError(
				"not_found",
				"push.not_configured",
				"Web Push is not configured on this OpsWatch (OPSWATCH_VAPID_*)",
			);
		}
		return webPush;
	};
	const toSubscriptionDto = (p: { id: string; endpoint: string; createdAt: Date }) => ({
		id: p.id,
		endpoint: p.endpoint,
		createdAt: p.createdAt.toISOString(),
	});

	app.get(
		"/api/v1/push/vapid-public-key",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "The VAPID public key a browser subscribes with (PushManager.subscribe applicationServerKey)",
				response: { 200: z.object({ publicKey: z.string() }) },
			},
		},
		async () => ({ publicKey: requirePush().publicKey }),
	);

	app.post(
		"/api/v1/members/:id/push-subscriptions",
		{
			config: { auth: { permission: "members.manage" as const } },
			schema: {
				tags,
				summary: "Subscribe a member's browser or installed web app to push pages (the PushSubscription's JSON)",
				params: memberParams,
				body: z.object({
					endpoint: pushEndpoint,
					expirationTime: z.number().nullable().optional(),
					keys: z.object({ p256dh: base64url(65), auth: base64url(16) }).strict(),
				}),
				response: { 201: z.object({ subscription: pushSubscriptionDto }) },
			},
		},
		async (request, reply) => {
			requirePush();
			const { endpoint, keys } = request.body;
			const added = await escalations.addPushSubscription(
				tenantPrincipal(request).tenant,
				request.params.id,
				{ endpoint, keys },
				actorOf(request),
			);
			return reply.status(201).send({ subscription: toSubscriptionDto(added) });
		},
	);

	app.get(
		"/api/v1/members/:id/push-subscriptions",
		{
			config: { auth: { permission: "members.read" as const } },
			schema: {
				tags,
				summary: "A member's push subscriptions",
				params: memberParams,
				response: { 200: z.object({ subscriptions: z.array(pushSubscriptionDto) }) },
			},
		},
		async (request) => ({
			subscriptions: (await escalations.listPushSubscriptions(tenantPrincipal(request).tenant, request.params.id)).map(
				toSubscriptionDto,
			),
		}),
	);

	app.delete(
		"/api/v1/members/:id/push-subscriptions/:subscriptionId",
		{
			config: { auth: { permission: "members.manage" as const } },
			schema: {
				tags,
				summary: "Unsubscribe a browser",
				params: z.object({ id: z.uuid(), subscriptionId: z.uuid() }),
			},
		},
		async (request, reply) => {
			await escalations.removePushSubscription(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.params.subscriptionId,
				actorOf(request),
			);
			return reply.status(204).send();
		},
	);

	app.get(
		"/api/v1/members/:id/notifications",
		{
			config: { auth: { permission: "members.read" as const } },
			schema: {
				tags,
				summary: "A member's pages, newest first; `channel=inbox` is their in-app inbox",
				params: z.object({ id: z.uuid() }),
				querystring: notificationQuery,
				response: { 200: z.object({ notifications: z.array(notificationDto) }) },
			},
		},
		async (request) => ({
			notifications: (
				await escalations.notificationsOf(tenantPrincipal(request).tenant, request.params.id, request.query)
			).map(toNotificationDto),
		}),
	);

	app.get(
		"/api/v1/me/notifications",
		{
			config: { auth: { permission: "tenant.read" as const } },
			schema: {
				tags,
				summary: "The signed-in person's pages, newest first; `channel=inbox` is their in-app inbox",
				querystring: notificationQuery,
				response: { 200: z.object({ notifications: z.array(notificationDto) }) },
			},
		},
		async (request) => {
			const me = signedInMember(request);
			return {
				notifications: (await escalations.notificationsOf(me.tenant, me.memberId, request.query)).map(
					toNotificationDto,
				),
			};
		},
	);
};
