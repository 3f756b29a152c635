import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { labelMatcherSchema, severities } from "../alert/index.ts";
import { actorOf, tenantPrincipal } from "../tenant/index.ts";
import type { RunbookApi } from "./runbooks.ts";
import type { KnowledgeBaseApi } from "./service.ts";
import { type Incident, type IncidentVersion, incidentSources, type KbPrompt, type Runbook } from "./types.ts";

export interface KnowledgeBaseRoutesOptions {
	knowledgeBase: KnowledgeBaseApi;
	runbooks: RunbookApi;
}

const dateTime = z.string().meta({ format: "date-time" });
/** No NUL: PostgreSQL text cannot hold it. */
const text = (max: number) =>
	z
		.string()
		.max(max)
		.refine((s) => !s.includes("\0"), "must not contain NUL characters");
const fingerprint = text(256).pipe(z.string().min(1));

/** Search text: what a person types. Operators and quotes are read as words, never as syntax. */
const searchQuery = z
	.string()
	.trim()
	.min(1, "must not be empty")
	.max(500, "must be at most 500 characters")
	.refine((s) => !s.includes("\0"), "must not contain NUL characters")
	.meta({ description: "Words to look for; quotes for phrases, `-word` to exclude, `or` between alternatives" });

const incidentInput = z
	.object({
		title: text(300).pipe(z.string().trim().min(1, "must not be empty")),
		fingerprints: z.array(fingerprint).max(500).default([]),
		matchers: z.array(labelMatcherSchema).max(50).default([]),
		symptoms: text(20_000).default(""),
		rootCause: text(20_000).default(""),
		solution: text(100_000)
			.default("")
			.meta({ description: "Markdown; stored as written, always served as JSON text" }),
		runbookIds: z.array(z.uuid()).max(50).default([]),
		tags: z
			.array(text(64).pipe(z.string().min(1)))
			.max(50)
			.default([]),
		severity: z.enum(severities).nullable().default(null),
	})
	.strict();

const statsDto = z.object({
	timesSeen: z.number().int(),
	lastSeenAt: dateTime.nullable(),
	meanTimeToAcknowledgeSeconds: z.number().nullable(),
	meanTimeToResolveSeconds: z.number().nullable(),
});

const incidentDto = z
	.object({
		id: z.uuid(),
		title: z.string(),
		fingerprints: z.array(z.string()),
		matchers: z.array(labelMatcherSchema),
		symptoms: z.string(),
		rootCause: z.string(),
		solution: z.string(),
		runbookIds: z.array(z.uuid()),
		tags: z.array(z.string()),
		severity: z.enum(severities).nullable(),
		source: z.enum(incidentSources),
		needsReview: z.boolean().meta({ description: "Written by an agent and not yet reviewed by a person" }),
		mergedInto: z.uuid().nullable().meta({ description: "Set once merged: the entry that absorbed this one" }),
		version: z.number().int(),
		createdBy: z.string(),
		updatedBy: z.string(),
		createdAt: dateTime,
		updatedAt: dateTime,
		stats: statsDto,
	})
	.meta({ id: "Incident", description: "A knowledge-base entry: a known incident and how it was fixed" });

const toIncidentDto = (incident: Incident) => ({
	...incident,
	createdAt: incident.createdAt.toISOString(),
	updatedAt: incident.updatedAt.toISOString(),
	stats: { ...incident.stats, lastSeenAt: incident.stats.lastSeenAt?.toISOString() ?? null },
});

const versionDto = z
	.object({
		incidentId: z.uuid().meta({ description: "Differs from the entry asked for when it came with a merged entry" }),
		version: z.number().int(),
		action: z.enum(["created", "updated", "merged", "merged_into"]),
		snapshot: z.record(z.string(), z.unknown()),
		changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
		changedBy: z.string(),
		changedAt: dateTime,
	})
	.meta({ id: "IncidentVersion" });

const toVersionDto = (v: IncidentVersion) => ({ ...v, changedAt: v.changedAt.toISOString() });

const promptDto = z
	.object({
		id: z.uuid(),
		alertId: z.uuid(),
		fingerprint: z.string(),
		title: z.string(),
		labels: z.record(z.string(), z.string()),
		resolvedBy: z.string(),
		resolutionNotes: z.string().nullable(),
		status: z.enum(["pending", "accepted", "dismissed"]),
		incidentId: z.uuid().nullable(),
		createdAt: dateTime,
	})
	.meta({ id: "KnowledgeBasePrompt", description: '"New issue resolved. Add to knowledge base?"' });

const toPromptDto = (p: KbPrompt) => ({ ...p, createdAt: p.createdAt.toISOString() });

const runbookInput = z
	.object({
		title: text(300).pipe(z.string().trim().min(1, "must not be empty")),
		body: text(200_000).meta({ description: "Markdown; stored as written, never served as HTML" }),
		tags: z
			.array(text(64).pipe(z.string().min(1)))
			.max(50)
			.default([]),
	})
	.strict();

const runbookDto = z
	.object({
		id: z.uuid(),
		title: z.string(),
		body: z.string(),
		tags: z.array(z.string()),
		templateId: z.string().nullable(),
		version: z.number().int(),
		createdBy: z.string(),
		updatedBy: z.string(),
		createdAt: dateTime,
		updatedAt: dateTime,
	})
	.meta({ id: "Runbook" });

const toRunbookDto = (r: Runbook) => ({
	...r,
	createdAt: r.createdAt.toISOString(),
	updatedAt: r.updatedAt.toISOString(),
});

const idParams = z.object({ id: z.uuid() });
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** The knowledge base (spec §8.1 "Knowledge Base (Incidents)") and runbooks. */
export const knowledgeBaseRoutes: FastifyPluginAsyncZod<KnowledgeBaseRoutesOptions> = async (
	app,
	{ knowledgeBase, runbooks },
) => {
	const tags = ["knowledge base"];
	const read = { auth: { permission: "kb.read" as const } };
	const write = { auth: { permission: "kb.write" as const } };

	app.get(
		"/api/v1/incidents",
		{
			config: read,
			schema: {
				tags,
				summary: "List knowledge-base entries, most recently changed first",
				querystring: z
					.object({
						tag: text(64).optional(),
						source: z.enum(incidentSources).optional(),
						needsReview: z
							.enum(["true", "false"])
							.optional()
							.meta({ description: "Agent-written entries awaiting review" }),
						limit: limit(200, 50),
						cursor: z.string().max(200).optional(),
					})
					.strict(),
				response: { 200: z.object({ incidents: z.array(incidentDto), nextCursor: z.string().optional() }) },
			},
		},
		async (request) => {
			const { needsReview, ...query } = request.query;
			const page = await knowledgeBase.list(tenantPrincipal(request).tenant, {
				...query,
				needsReview: needsReview === undefined ? undefined : needsReview === "true",
			});
			return { incidents: page.incidents.map(toIncidentDto), nextCursor: page.nextCursor };
		},
	);

	app.post(
		"/api/v1/incidents",
		{
			config: write,
			schema: {
				tags,
				summary: "Create a knowledge-base entry",
				description:
					'With `promptId`, answers a pending "add to knowledge base?" prompt: the resolved alert\'s fingerprint joins the entry.',
				body: incidentInput.extend({ promptId: z.uuid().optional() }).strict(),
				response: { 201: z.object({ incident: incidentDto }) },
			},
		},
		async (request, reply) => {
			const { promptId, ...input } = request.body;
			const incident = await knowledgeBase.create(tenantPrincipal(request).tenant, input, actorOf(request), {
				promptId,
			});
			return reply.status(201).send({ incident: toIncidentDto(incident) });
		},
	);

	app.get(
		"/api/v1/incidents/search",
		{
			config: read,
			schema: {
				tags,
				summary: "Search the knowledge base: full text, ranked, tolerant of typos",
				querystring: z.object({ q: searchQuery, limit: limit(50, 10) }).strict(),
				response: {
					200: z.object({ results: z.array(z.object({ incident: incidentDto, score: z.number() })) }),
				},
			},
		},
		async (request) => {
			const hits = await knowledgeBase.search(tenantPrincipal(request).tenant, request.query.q, request.query.limit);
			return { results: hits.map((hit) => ({ incident: toIncidentDto(hit.incident), score: hit.score })) };
		},
	);

	app.get(
		"/api/v1/incidents/fingerprint/:fp",
		{
			config: read,
			schema: {
				tags,
				summary: "The entry that covers an alert fingerprint (exact)",
				params: z.object({ fp: fingerprint }),
				response: { 200: z.object({ incident: incidentDto }) },
			},
		},
		async (request) => ({
			incident: toIncidentDto(await knowledgeBase.byFingerprint(tenantPrincipal(request).tenant, request.params.fp)),
		}),
	);

	app.get(
		"/api/v1/incidents/prompts",
		{
			config: read,
			schema: {
				tags,
				summary: 'Resolved alerts nobody has documented yet ("add to knowledge base?")',
				querystring: z
					.object({ status: z.enum(["pending", "accepted", "dismissed"]).default("pending"), limit: limit(200, 50) })
					.strict(),
				response: { 200: z.object({ prompts: z.array(promptDto) }) },
			},
		},
		async (request) => {
			const { status, limit } = request.query;
			const prompts = await knowledgeBase.prompts(tenantPrincipal(request).tenant, status, limit);
			return { prompts: prompts.map(toPromptDto) };
		},
	);

	app.post(
		"/api/v1/incidents/prompts/:id/dismiss",
		{
			config: write,
			schema: {
				tags,
				summary: "Dismiss a prompt: nothing worth recording",
				params: idParams,
				response: { 200: z.object({ prompt: promptDto }) },
			},
		},
		async (request) => ({
			prompt: toPromptDto(
				await knowledgeBase.dismissPrompt(tenantPrincipal(request).tenant, request.params.id, actorOf(request)),
			),
		}),
	);

	app.get(
		"/api/v1/incidents/:id",
		{
			config: read,
			schema: {
				tags,
				summary: "A knowledge-base entry (a merged one points at the entry that absorbed it)",
				params: idParams,
				response: { 200: z.object({ incident: incidentDto }) },
			},
		},
		async (request) => ({
			incident: toIncidentDto(await knowledgeBase.get(tenantPrincipal(request).tenant, request.params.id)),
		}),
	);

	app.put(
		"/api/v1/incidents/:id",
		{
			config: write,
			schema: {
				tags,
				summary: "Replace an entry; send the version you read (a stale one gets 409)",
				params: idParams,
				body: incidentInput
					.extend({
						version: z.number().int().min(1),
						needsReview: z.boolean().default(false).meta({ description: "false marks an agent's entry reviewed" }),
					})
					.strict(),
				response: { 200: z.object({ incident: incidentDto }) },
			},
		},
		async (request) => {
			const { version, ...input } = request.body;
			const incident = await knowledgeBase.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				input,
				actorOf(request),
			);
			return { incident: toIncidentDto(incident) };
		},
	);

	app.post(
		"/api/v1/incidents/:id/merge",
		{
			config: { auth: { permission: "kb.merge" } },
			schema: {
				tags,
				summary: "Merge a duplicate entry into another",
				description: "The entry `into` takes this entry's fingerprints, stats and history; this one then points at it.",
				params: idParams,
				body: z.object({ into: z.uuid().meta({ description: "The entry that stays" }) }).strict(),
				response: { 200: z.object({ merged: incidentDto, target: incidentDto }) },
			},
		},
		async (request) => {
			const { merged, target } = await knowledgeBase.merge(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.body.into,
				actorOf(request),
			);
			return { merged: toIncidentDto(merged), target: toIncidentDto(target) };
		},
	);

	app.get(
		"/api/v1/incidents/:id/history",
		{
			config: read,
			schema: {
				tags,
				summary: "Every version of an entry (and of entries merged into it): who, when, what changed",
				params: idParams,
				response: { 200: z.object({ versions: z.array(versionDto) }) },
			},
		},
		async (request) => {
			const versions = await knowledgeBase.history(tenantPrincipal(request).tenant, request.params.id);
			return { versions: versions.map(toVersionDto) };
		},
	);

	// --- Runbooks ---
	const runbookTags = ["runbooks"];
	const runbookRead = { auth: { permission: "runbooks.read" as const } };
	const runbookWrite = { auth: { permission: "runbooks.write" as const } };

	app.get(
		"/api/v1/runbooks",
		{
			config: runbookRead,
			schema: {
				tags: runbookTags,
				summary: "List runbooks, most recently changed first",
				querystring: z.object({ tag: text(64).optional(), limit: limit(500, 100) }).strict(),
				response: { 200: z.object({ runbooks: z.array(runbookDto) }) },
			},
		},
		async (request) => ({
			runbooks: (await runbooks.list(tenantPrincipal(request).tenant, request.query)).map(toRunbookDto),
		}),
	);

	app.get(
		"/api/v1/runbooks/templates",
		{
			config: runbookRead,
			schema: {
				tags: runbookTags,
				summary: "Pre-seeded runbook templates; create a runbook from one with `templateId`",
				response: {
					200: z.object({
						templates: z.array(
							z.object({
								id: z.string(),
								title: z.string(),
								description: z.string(),
								tags: z.array(z.string()),
								body: z.string(),
							}),
						),
					}),
				},
			},
		},
		async () => ({ templates: runbooks.templates() }),
	);

	app.post(
		"/api/v1/runbooks",
		{
			config: runbookWrite,
			schema: {
				tags: runbookTags,
				summary: "Create a runbook, from scratch or from a template",
				body: runbookInput
					.partial()
					.extend({ templateId: z.string().max(100).optional().meta({ description: "Start from this template" }) })
					.strict(),
				response: { 201: z.object({ runbook: runbookDto }) },
			},
		},
		async (request, reply) => {
			const runbook = await runbooks.create(tenantPrincipal(request).tenant, request.body, actorOf(request));
			return reply.status(201).send({ runbook: toRunbookDto(runbook) });
		},
	);

	app.get(
		"/api/v1/runbooks/:id",
		{
			config: runbookRead,
			schema: {
				tags: runbookTags,
				summary: "A runbook; `?format=markdown` answers with the Markdown itself (text/markdown)",
				params: idParams,
				querystring: z.object({ format: z.enum(["json", "markdown"]).default("json") }).strict(),
				response: { 200: z.object({ runbook: runbookDto }) },
			},
		},
		async (request, reply) => {
			const runbook = await runbooks.get(tenantPrincipal(request).tenant, request.params.id);
			if (request.query.format === "markdown") {
				// Served as text that no browser renders or runs: a <script> in it stays inert.
				return (
					reply
						.header("content-type", "text/markdown; charset=utf-8")
						.header("x-content-type-options", "nosniff")
						.header("content-security-policy", "default-src 'none'; sandbox")
						.serializer((payload: unknown) => payload as string)
						// The Markdown itself, past the JSON schema (the custom serializer above writes it as is).
						.send(runbook.body as never)
				);
			}
			return { runbook: toRunbookDto(runbook) };
		},
	);

	app.put(
		"/api/v1/runbooks/:id",
		{
			config: runbookWrite,
			schema: {
				tags: runbookTags,
				summary: "Replace a runbook; send the version you read (a stale one gets 409)",
				params: idParams,
				body: runbookInput.extend({ version: z.number().int().min(1) }).strict(),
				response: { 200: z.object({ runbook: runbookDto }) },
			},
		},
		async (request) => {
			const { version, ...input } = request.body;
			const runbook = await runbooks.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				input,
				actorOf(request),
			);
			return { runbook: toRunbookDto(runbook) };
		},
	);

	app.delete(
		"/api/v1/runbooks/:id",
		{
			config: runbookWrite,
			schema: {
				tags: runbookTags,
				summary: "Delete a runbook",
				params: idParams,
				response: { 204: z.null().meta({ description: "Deleted" }) },
			},
		},
		async (request, reply) => {
			await runbooks.remove(tenantPrincipal(request).tenant, request.params.id, actorOf(request));
			return reply.status(204).send(null);
		},
	);

	app.get(
		"/api/v1/runbooks/:id/versions",
		{
			config: runbookRead,
			schema: {
				tags: runbookTags,
				summary: "Every version of a runbook",
				params: idParams,
				response: {
					200: z.object({
						versions: z.array(
							z.object({
								version: z.number().int(),
								title: z.string(),
								body: z.string(),
								tags: z.array(z.string()),
								changedBy: z.string(),
								changedAt: dateTime,
							}),
						),
					}),
				},
			},
		},
		async (request) => {
			const versions = await runbooks.versions(tenantPrincipal(request).tenant, request.params.id);
			return { versions: versions.map(({ runbookId: _, ...v }) => ({ ...v, changedAt: v.changedAt.toISOString() })) };
		},
	);
};
