import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, tenantPrincipal } from "../tenant/index.ts";
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
						timeoutMinutes: z
							.number()
							.int()
							.min(1, "must be at least 1 minute")
							.max(1440, "must be at most 1440 minutes (a day)"),
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
