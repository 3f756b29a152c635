import { sql } from "kysely";
import {
	type AlertResolution,
	assertValidMatchers,
	type KnowledgeBaseEntryView,
	type KnowledgeBaseMatch,
	type KnowledgeBaseSearcher,
	matchesAll,
} from "../alert/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { inSpan } from "../platform/tracing.ts";
import { type Actor, actorName, type TenantRef, writeAudit } from "../tenant/index.ts";
import type { KbMetrics, SearchType } from "./metrics.ts";
import * as runbookStore from "./runbook-store.ts";
import * as search from "./search.ts";
import * as store from "./store.ts";
import type { Incident, IncidentInput, IncidentVersion, KbPrompt } from "./types.ts";

export interface IncidentPage {
	incidents: Incident[];
	/** Pass as `cursor` for the next page; absent on the last page. */
	nextCursor?: string;
}

/** The knowledge base (`/api/v1/incidents`): known incidents, their fixes, and what resolutions teach. */
export interface KnowledgeBaseApi {
	list(tenant: TenantRef, filter: Omit<store.IncidentFilter, "after"> & { cursor?: string }): Promise<IncidentPage>;
	/** With `promptId`, answers an "add to knowledge base?" prompt: its alert's fingerprint joins the entry. */
	create(tenant: TenantRef, input: IncidentInput, actor: Actor, options?: { promptId?: string }): Promise<Incident>;
	/** A merged entry is returned too; its `mergedInto` points at the entry that absorbed it. */
	get(tenant: TenantRef, id: string): Promise<Incident>;
	/** Fails with 409 when `version` is not current, or when the entry was merged away. */
	update(
		tenant: TenantRef,
		id: string,
		version: number,
		input: IncidentInput & { needsReview: boolean },
		actor: Actor,
	): Promise<Incident>;
	search(tenant: TenantRef, text: string, limit: number): Promise<search.SearchHit[]>;
	byFingerprint(tenant: TenantRef, fingerprint: string): Promise<Incident>;
	/** Merges `id` into `into`: fingerprints, stats and history move to `into`. */
	merge(tenant: TenantRef, id: string, into: string, actor: Actor): Promise<{ merged: Incident; target: Incident }>;
	history(tenant: TenantRef, id: string): Promise<IncidentVersion[]>;
	prompts(tenant: TenantRef, status: KbPrompt["status"], limit: number): Promise<KbPrompt[]>;
	/** One "add to knowledge base?" prompt; not_found when it does not exist. */
	prompt(tenant: TenantRef, id: string): Promise<KbPrompt>;
	/** The pending prompt a resolution of this alert raised, if any. */
	pendingPromptOf(tenant: TenantRef, alertId: string): Promise<KbPrompt | undefined>;
	dismissPrompt(tenant: TenantRef, id: string, actor: Actor): Promise<KbPrompt>;
}

export interface KnowledgeBaseDeps {
	db: Db;
	clock: Clock;
	metrics: KbMetrics;
}

/** How long another process may match alerts against a knowledge base changed elsewhere. */
const MATCH_CACHE_MS = 5_000;

const notFound = (id: string) =>
	new AppError("not_found", "incident.not_found", `Knowledge-base entry ${id} does not exist`);

/** What a version records of an entry: the fields people write, and where it went. */
const snapshotOf = (incident: Incident): Record<string, unknown> => ({
	title: incident.title,
	fingerprints: incident.fingerprints,
	matchers: incident.matchers,
	symptoms: incident.symptoms,
	rootCause: incident.rootCause,
	solution: incident.solution,
	runbookIds: incident.runbookIds,
	tags: incident.tags,
	severity: incident.severity,
	needsReview: incident.needsReview,
	mergedInto: incident.mergedInto,
});

function diff(before: Record<string, unknown>, after: Record<string, unknown>): IncidentVersion["changes"] {
	const changes: IncidentVersion["changes"] = {};
	for (const [field, to] of Object.entries(after)) {
		const from = before[field];
		if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from: from ?? null, to };
	}
	return changes;
}

const encodeCursor = (incident: Incident) =>
	Buffer.from(`${incident.updatedAt.toISOString()}|${incident.id}`).toString("base64url");

function decodeCursor(cursor: string): { updatedAt: Date; id: string } {
	const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
	const updatedAt = new Date(at ?? "");
	if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(updatedAt.getTime())) {
		throw new AppError("validation", "incident.invalid_cursor", "The cursor is not one this API returned", {
			fields: [{ path: "querystring.cursor", message: "is not a valid cursor" }],
		});
	}
	return { updatedAt, id };
}

const unique = (values: string[]) => [...new Set(values)];

export function createKnowledgeBase({
	db,
	clock,
	metrics,
}: KnowledgeBaseDeps): KnowledgeBaseApi & KnowledgeBaseSearcher {
	/** Per tenant: how many active entries, and those with label matchers (matched in memory). */
	const matchState = new Map<string, { active: number; withMatchers: Incident[]; until: number }>();
	const changed = (tenant: TenantRef) => matchState.delete(tenant.id);

	async function stateOf(tenant: TenantRef) {
		const now = clock.now().getTime();
		const hit = matchState.get(tenant.id);
		if (hit && hit.until > now) return hit;
		const [active, withMatchers] = await Promise.all([
			store.countActive(db, tenant.schema),
			store.listWithMatchers(db, tenant.schema),
		]);
		const state = { active, withMatchers, until: now + MATCH_CACHE_MS };
		matchState.set(tenant.id, state);
		return state;
	}

	/** Times a search, counts it and its hits, and traces it. */
	async function measured<T>(
		tenant: TenantRef,
		type: SearchType,
		hitsOf: (result: T) => number,
		work: () => Promise<T>,
	) {
		return inSpan("kb.search", { tenant: tenant.slug, type }, async () => {
			const started = performance.now();
			const result = await work();
			metrics.searched(tenant, type, (performance.now() - started) / 1000, hitsOf(result));
			return result;
		});
	}

	/** Entries serialise their writes per tenant, so two cannot claim the same fingerprint at once. */
	const lockKnowledgeBase = (trx: Db, tenant: TenantRef) =>
		sql`select pg_advisory_xact_lock(hashtext(${`${tenant.schema}:knowledge-base`}))`.execute(trx);

	async function checkInput(trx: Db, tenant: TenantRef, input: IncidentInput, self?: string): Promise<void> {
		assertValidMatchers(input.matchers, "incident.invalid_regex");
		const runbooks = await runbookStore.existingRunbookIds(trx, tenant.schema, input.runbookIds);
		const missing = input.runbookIds.filter((id) => !runbooks.has(id));
		if (missing.length > 0) {
			throw new AppError(
				"unprocessable",
				"incident.unknown_runbook",
				`No runbook ${missing.join(", ")} in this tenant`,
				{
					fields: [{ path: "body.runbookIds", message: `unknown runbook ${missing.join(", ")}` }],
				},
			);
		}
		const claimed = await store.findByFingerprints(trx, tenant.schema, input.fingerprints, self);
		if (claimed.length > 0) {
			const taken = input.fingerprints.filter((fp) => claimed.some((c) => c.fingerprints.includes(fp)));
			throw new AppError(
				"conflict",
				"incident.fingerprint_taken",
				`Fingerprint ${taken.join(", ")} already belongs to entry ${claimed[0]!.id} ("${claimed[0]!.title}"): update or merge that entry instead`,
				{ fields: [{ path: "body.fingerprints", message: `already belongs to entry ${claimed[0]!.id}` }] },
			);
		}
	}

	async function insertWithHistory(
		trx: Db,
		tenant: TenantRef,
		input: IncidentInput,
		meta: { source: Incident["source"]; needsReview: boolean; by: string; at: Date },
	): Promise<Incident> {
		const created = await store.insertIncident(trx, tenant.schema, input, meta);
		await store.insertVersion(trx, tenant.schema, {
			incidentId: created.id,
			version: created.version,
			action: "created",
			snapshot: snapshotOf(created),
			changes: diff({}, snapshotOf(created)),
			changedBy: meta.by,
			changedAt: meta.at,
		});
		return created;
	}

	/** The entry, following merges to the one that absorbed it. */
	async function current(tenant: TenantRef, id: string): Promise<Incident | undefined> {
		let incident = await store.findIncident(db, tenant.schema, id);
		for (let hops = 0; incident?.mergedInto && hops < 5; hops++) {
			incident = await store.findIncident(db, tenant.schema, incident.mergedInto);
		}
		return incident;
	}

	const asMatch = (incident: Incident): KnowledgeBaseMatch => ({
		id: incident.id,
		title: incident.title,
		solution: incident.solution,
	});

	return {
		async list(tenant, { cursor, ...filter }) {
			const after = cursor ? decodeCursor(cursor) : undefined;
			const rows = await store.listIncidents(db, tenant.schema, { ...filter, after, limit: filter.limit + 1 });
			const page = rows.slice(0, filter.limit);
			return rows.length > filter.limit
				? { incidents: page, nextCursor: encodeCursor(page.at(-1)!) }
				: { incidents: page };
		},

		async create(tenant, input, actor, options = {}) {
			const at = clock.now();
			const by = actorName(actor);
			const incident = await db.transaction().execute(async (trx) => {
				await lockKnowledgeBase(trx, tenant);
				let prompt: KbPrompt | undefined;
				if (options.promptId) {
					prompt = await store.findPrompt(trx, tenant.schema, options.promptId);
					if (!prompt) {
						throw new AppError("not_found", "kb_prompt.not_found", `Prompt ${options.promptId} does not exist`);
					}
					if (prompt.status !== "pending") {
						throw new AppError("conflict", "kb_prompt.closed", `Prompt ${prompt.id} was already ${prompt.status}`);
					}
					input = { ...input, fingerprints: unique([...input.fingerprints, prompt.fingerprint]) };
				}
				await checkInput(trx, tenant, input);
				const created = await insertWithHistory(trx, tenant, input, { source: "human", needsReview: false, by, at });
				if (prompt) await store.closePrompt(trx, tenant.schema, prompt.id, "accepted", created.id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "incident.create",
					targetType: "incident",
					targetId: created.id,
					after: snapshotOf(created),
				});
				return created;
			});
			changed(tenant);
			return incident;
		},

		async get(tenant, id) {
			const incident = await store.findIncident(db, tenant.schema, id);
			if (!incident) throw notFound(id);
			return incident;
		},

		async update(tenant, id, version, input, actor) {
			const at = clock.now();
			const by = actorName(actor);
			const incident = await db.transaction().execute(async (trx) => {
				await lockKnowledgeBase(trx, tenant);
				const before = await store.findIncident(trx, tenant.schema, id, { forUpdate: true });
				if (!before) throw notFound(id);
				if (before.mergedInto) {
					throw new AppError(
						"conflict",
						"incident.merged",
						`Entry ${id} was merged into ${before.mergedInto}: change that entry instead`,
					);
				}
				if (before.version !== version) {
					throw new AppError(
						"conflict",
						"incident.version_conflict",
						`Entry ${id} is at version ${before.version}, not ${version}: reload it and apply your change again`,
					);
				}
				await checkInput(trx, tenant, input, id);
				const updated = await store.updateIncident(trx, tenant.schema, id, version, input, by, at);
				if (!updated) throw new AppError("conflict", "incident.version_conflict", `Entry ${id} changed meanwhile`);
				await store.insertVersion(trx, tenant.schema, {
					incidentId: id,
					version: updated.version,
					action: "updated",
					snapshot: snapshotOf(updated),
					changes: diff(snapshotOf(before), snapshotOf(updated)),
					changedBy: by,
					changedAt: at,
				});
				await writeAudit(trx, tenant.schema, actor, {
					action: "incident.update",
					targetType: "incident",
					targetId: id,
					before: snapshotOf(before),
					after: snapshotOf(updated),
				});
				return updated;
			});
			changed(tenant);
			return incident;
		},

		search(tenant, text, limit) {
			return measured(
				tenant,
				"text",
				(hits) => (hits.length > 0 ? 1 : 0),
				() => search.searchText(db, tenant.schema, text, limit),
			);
		},

		async byFingerprint(tenant, fingerprint) {
			const found = await measured(
				tenant,
				"fingerprint",
				(map) => map.size,
				() => search.matchFingerprints(db, tenant.schema, [fingerprint]),
			);
			const incident = found.get(fingerprint);
			if (!incident) {
				throw new AppError(
					"not_found",
					"incident.not_found",
					`No knowledge-base entry covers fingerprint ${fingerprint}`,
				);
			}
			return incident;
		},

		async merge(tenant, id, into, actor) {
			if (id === into) {
				throw new AppError("validation", "incident.merge_into_self", "An entry cannot be merged into itself", {
					fields: [{ path: "body.into", message: "is the entry being merged" }],
				});
			}
			const at = clock.now();
			const by = actorName(actor);
			const result = await db.transaction().execute(async (trx) => {
				await lockKnowledgeBase(trx, tenant);
				const source = await store.findIncident(trx, tenant.schema, id, { forUpdate: true });
				if (!source) throw notFound(id);
				const target = await store.findIncident(trx, tenant.schema, into, { forUpdate: true });
				if (!target) {
					throw new AppError("not_found", "incident.not_found", `Knowledge-base entry ${into} does not exist`, {
						fields: [{ path: "body.into", message: "no such entry in this tenant" }],
					});
				}
				if (source.mergedInto) {
					throw new AppError("conflict", "incident.merged", `Entry ${id} was already merged into ${source.mergedInto}`);
				}
				if (target.mergedInto) {
					throw new AppError(
						"conflict",
						"incident.merge_target_merged",
						`Entry ${into} was itself merged into ${target.mergedInto}: merge into that one`,
						{ fields: [{ path: "body.into", message: `was merged into ${target.mergedInto}` }] },
					);
				}
				const merged = await store.mergeInto(trx, tenant.schema, source, into, by, at);
				await store.insertVersion(trx, tenant.schema, {
					incidentId: into,
					version: merged.target.version,
					action: "merged",
					snapshot: { ...snapshotOf(merged.target), absorbed: id },
					changes: diff(snapshotOf(target), snapshotOf(merged.target)),
					changedBy: by,
					changedAt: at,
				});
				await store.insertVersion(trx, tenant.schema, {
					incidentId: id,
					version: merged.merged.version,
					action: "merged_into",
					snapshot: snapshotOf(merged.merged),
					changes: diff(snapshotOf(source), snapshotOf(merged.merged)),
					changedBy: by,
					changedAt: at,
				});
				await writeAudit(trx, tenant.schema, actor, {
					action: "incident.merge",
					targetType: "incident",
					targetId: into,
					before: { merged: snapshotOf(source), target: snapshotOf(target) },
					after: snapshotOf(merged.target),
				});
				return merged;
			});
			changed(tenant);
			return result;
		},

		async history(tenant, id) {
			if (!(await store.findIncident(db, tenant.schema, id))) throw notFound(id);
			return store.listVersions(db, tenant.schema, id);
		},

		prompts: (tenant, status, limit) => store.listPrompts(db, tenant.schema, status, limit),
		async prompt(tenant, id) {
			const prompt = await store.findPrompt(db, tenant.schema, id);
			if (!prompt) throw new AppError("not_found", "kb_prompt.not_found", `Prompt ${id} does not exist`);
			return prompt;
		},
		pendingPromptOf: (tenant, alertId) => store.findPendingPromptOfAlert(db, tenant.schema, alertId),

		async dismissPrompt(tenant, id, actor) {
			return db.transaction().execute(async (trx) => {
				const prompt = await store.findPrompt(trx, tenant.schema, id);
				if (!prompt) throw new AppError("not_found", "kb_prompt.not_found", `Prompt ${id} does not exist`);
				if (prompt.status !== "pending") {
					throw new AppError("conflict", "kb_prompt.closed", `Prompt ${id} was already ${prompt.status}`);
				}
				const closed = await store.closePrompt(trx, tenant.schema, id, "dismissed", null);
				await writeAudit(trx, tenant.schema, actor, {
					action: "kb_prompt.dismiss",
					targetType: "kb_prompt",
					targetId: id,
					before: { status: prompt.status },
					after: { status: closed.status },
				});
				return closed;
			});
		},

		// --- KnowledgeBaseSearcher: what the ingest pipeline uses ---

		async matchAlerts(tenant, alerts) {
			if (alerts.length === 0) return [];
			const state = await stateOf(tenant);
			// Most tenants start empty; they pay nothing per alert until they write an entry.
			if (state.active === 0) return alerts.map(() => undefined);
			return measured(
				tenant,
				"alert",
				(found) => found.filter(Boolean).length,
				async () => {
					const byFingerprint = await search.matchFingerprints(
						db,
						tenant.schema,
						unique(alerts.map((a) => a.fingerprint)),
					);
					const found: (Incident | undefined)[] = alerts.map(
						(alert) =>
							byFingerprint.get(alert.fingerprint) ??
							state.withMatchers.find((incident) => matchesAll(incident.matchers, alert.labels)),
					);
					const unmatched = [...found.keys()].filter((i) => !found[i]);
					if (unmatched.length > 0) {
						const byTitle = await search.matchTitles(
							db,
							tenant.schema,
							unmatched.map((i) => alerts[i]!.title),
						);
						unmatched.forEach((alertIndex, i) => {
							found[alertIndex] = byTitle[i];
						});
					}
					return found.map((incident) => incident && asMatch(incident));
				},
			);
		},

		async entry(tenant, id): Promise<KnowledgeBaseEntryView | undefined> {
			const incident = await current(tenant, id);
			if (!incident) return undefined;
			const runbooks = await Promise.all(
				incident.runbookIds.map((runbookId) => runbookStore.findRunbook(db, tenant.schema, runbookId)),
			);
			return {
				...asMatch(incident),
				rootCause: incident.rootCause,
				runbooks: runbooks.flatMap((r) => (r ? [{ id: r.id, title: r.title }] : [])),
			};
		},

		async alertResolved(tenant, resolution: AlertResolution) {
			const { fingerprint, resolvedBy, notes } = resolution;
			// A sender resolving alerts of a tenant without entries teaches nothing: skip the queries.
			if (resolvedBy.kind === "source" && !resolution.kbIncidentId && (await stateOf(tenant)).active === 0) {
				return { incidentId: null };
			}
			let known = resolution.kbIncidentId ? await current(tenant, resolution.kbIncidentId) : undefined;
			known ??= (await search.matchFingerprints(db, tenant.schema, [fingerprint])).get(fingerprint);
			const occurrence = {
				seenAt: resolution.resolvedAt,
				acknowledgeSeconds: resolution.acknowledgedAt
					? Math.max(0, (resolution.acknowledgedAt.getTime() - resolution.startsAt.getTime()) / 1000)
					: null,
				resolveSeconds: Math.max(0, (resolution.resolvedAt.getTime() - resolution.startsAt.getTime()) / 1000),
			};
			if (known) {
				await store.recordOccurrence(db, tenant.schema, known.id, occurrence);
				return { incidentId: known.id };
			}
			if (resolvedBy.kind === "agent" && notes?.trim()) {
				// An agent's fix becomes an entry at once, flagged for a person to review.
				const at = clock.now();
				const created = await db.transaction().execute(async (trx) => {
					await lockKnowledgeBase(trx, tenant);
					// Another resolution may have claimed the fingerprint meanwhile.
					const [claimed] = await store.findByFingerprints(trx, tenant.schema, [fingerprint]);
					if (claimed) return claimed;
					const incident = await insertWithHistory(
						trx,
						tenant,
						{
							title: resolution.title,
							fingerprints: [fingerprint],
							matchers: [],
							symptoms: `Alert "${resolution.title}" with labels ${Object.entries(resolution.labels)
								.map(([k, v]) => `${k}=${v}`)
								.join(", ")}`,
							rootCause: "",
							solution: notes,
							runbookIds: [],
							tags: [],
							severity: null,
						},
						{ source: "agent", needsReview: true, by: resolvedBy.name, at },
					);
					await writeAudit(
						trx,
						tenant.schema,
						{ principal: { type: "system", id: "knowledge-base" } },
						{
							action: "incident.learn",
							targetType: "incident",
							targetId: incident.id,
							after: { ...snapshotOf(incident), learnedFrom: resolution.alertId, resolvedBy: resolvedBy.name },
						},
					);
					return incident;
				});
				await store.recordOccurrence(db, tenant.schema, created.id, occurrence);
				changed(tenant);
				return { incidentId: created.id };
			}
			if (resolvedBy.kind !== "source") {
				// A person fixed something new: ask them to write it down (the Slack bot posts the prompt).
				await store.insertPrompt(db, tenant.schema, {
					alertId: resolution.alertId,
					fingerprint,
					title: resolution.title,
					labels: resolution.labels,
					resolvedBy: resolvedBy.name,
					resolutionNotes: notes,
				});
			}
			return { incidentId: null };
		},
	};
}
