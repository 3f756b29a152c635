import { type Batcher, createBatcher, ItemFailure } from "../platform/batcher.ts";
import type { EventBus } from "../platform/bus/index.ts";
import type { Clock } from "../platform/clock.ts";
import { type Db, retrySerializable } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { timeOrderedId } from "../platform/ids.ts";
import { inSpan } from "../platform/tracing.ts";
import { type Actor, memberIdOf, type TenantRef, writeAudit } from "../tenant/index.ts";
import type { DedupWindow } from "./dedup.ts";
import { fingerprintOfLabels } from "./fingerprint.ts";
import { transition } from "./lifecycle.ts";
import type { AlertMetrics } from "./metrics.ts";
import { createRepeatAnnouncer } from "./repeat-announcer.ts";
import { type SeverityRule, severityFromRules } from "./rules.ts";
import type { SeverityRuleApi } from "./rules-service.ts";
import { DEFAULT_SEVERITY, pagingSeverities, severityFromLabels } from "./severity.ts";
import type { Alert, AlertEvent, AlertFilter, AlertSort, FiringRow, FiringWrite, SortOrder } from "./store.ts";
import * as store from "./store.ts";
import type { AlertSource, AlertStatus, IncomingAlert, Severity } from "./types.ts";

/** What the escalation domain offers the pipeline (it implements this; spec §4.1 "start escalation timer"). */
export interface EscalationStarter {
	/**
	 * Routes each alert to a policy by its labels and starts paging; a payload's alerts at once (an
	 * alert storm must not cost a transaction per alert). A second start of an alert is harmless.
	 */
	start(
		tenant: TenantRef,
		alerts: Pick<Alert, "id" | "fingerprint" | "severity" | "title" | "labels">[],
	): Promise<void>;
	stop(tenant: TenantRef, alertId: string, reason: "acknowledged" | "resolved"): Promise<void>;
}

/** A knowledge-base entry that explains an alert (spec §3.2 KnowledgeBaseSearcher). */
export interface KnowledgeBaseMatch {
	id: string;
	title: string;
	/** Markdown. */
	solution: string;
}

/** The entry as shown with an alert: its fix and the runbooks it links. */
export interface KnowledgeBaseEntryView extends KnowledgeBaseMatch {
	rootCause: string;
	runbooks: { id: string; title: string }[];
}

/** Who resolved an alert: a person, an automated agent, or the sender that reported it resolved. */
export interface Responder {
	/** Recorded as the actor, e.g. `api_key:<id>`. */
	name: string;
	kind: "member" | "agent";
	/** Who the audit log records, with request id and address; else it is read from `name`. */
	actor?: Actor;
}

/** What the knowledge base learns from when an alert resolves (spec §4.3). */
export interface AlertResolution {
	alertId: string;
	fingerprint: string;
	title: string;
	labels: Record<string, string>;
	/** The entry matched at ingest, if any. */
	kbIncidentId: string | null;
	startsAt: Date;
	acknowledgedAt: Date | null;
	resolvedAt: Date;
	resolvedBy: { name: string; kind: Responder["kind"] | "source" };
	notes: string | null;
}

/**
 * What the incident domain offers the pipeline. Matching takes a payload's alerts at once, so
 * enrichment costs a round trip per payload, not per alert.
 */
export interface KnowledgeBaseSearcher {
	/** For each alert, the entry that explains it: fingerprint first, then label matchers, then title. */
	matchAlerts(
		tenant: TenantRef,
		alerts: { fingerprint: string; labels: Record<string, string>; title: string }[],
	): Promise<(KnowledgeBaseMatch | undefined)[]>;
	/** The entry to show with an alert (following merges). */
	entry(tenant: TenantRef, id: string): Promise<KnowledgeBaseEntryView | undefined>;
	/** Learns from a resolution; returns the entry the alert belongs to, if known. */
	alertResolved(tenant: TenantRef, resolution: AlertResolution): Promise<{ incidentId: string | null }>;
}

export type IngestOutcome = "created" | "deduplicated" | "resolved" | "acknowledged" | "ignored";

export interface IngestResult {
	alerts: { fingerprint: string; alertId: string | null; outcome: IngestOutcome }[];
}

export interface AlertPage {
	alerts: Alert[];
	/** Pass as `cursor` for the next page; absent on the last page. */
	nextCursor?: string;
}

/**
 * A webhook's request body, kept verbatim once for all its alerts instead of a copy of each
 * alert's object per alert (ADR 0008). Never a body that holds a credential.
 */
export interface WebhookBody {
	/**
	 * The body as it arrived, in UTF-8. Bytes rather than a string: a request holds its body until its
	 * batch's statement is sent, tens of milliseconds in a storm, and a string that long lived would be
	 * copied by every scavenge it outlives; a Buffer's bytes lie outside the JS heap (ADR 0008).
	 */
	bytes: Buffer;
	/** Where the alert at this index lies in the body: a JSON path of keys and array indexes. */
	pathOf(index: number): string[];
}

export interface AlertApi {
	/**
	 * Runs a webhook's alerts through the pipeline; resolves once they are durable. With `body`, the
	 * alerts' original objects are kept as that body (their `raw` is not stored).
	 */
	ingest(tenant: TenantRef, alerts: IncomingAlert[], actor: string, body?: WebhookBody): Promise<IngestResult>;
	/** Newest activity first unless `sort` and `order` say otherwise. */
	list(
		tenant: TenantRef,
		filter: Omit<AlertFilter, "after" | "sort" | "order"> & { sort?: AlertSort; order?: SortOrder; cursor?: string },
	): Promise<AlertPage>;
	/** The alert, its timeline, and the knowledge-base entry that explains it (its fix, its runbooks). */
	get(
		tenant: TenantRef,
		id: string,
	): Promise<{ alert: Alert; events: AlertEvent[]; knowledgeBase: KnowledgeBaseEntryView | undefined }>;
	/** `via` says how, when not through the API: `slack`, `sms`, `phone`. */
	acknowledge(tenant: TenantRef, id: string, by: string, via?: string, actor?: Actor): Promise<Alert>;
	/** Several alerts with the knowledge-base entry of each (no timelines): one query, plus one per distinct entry. */
	views(
		tenant: TenantRef,
		ids: string[],
	): Promise<Map<string, { alert: Alert; knowledgeBase: KnowledgeBaseEntryView | undefined }>>;
	/** Adds what another domain did for the alert to its timeline (escalated, notified). */
	recordTimeline(
		tenant: TenantRef,
		events: { alertId: string; type: "escalated" | "notified"; at: Date; details: Record<string, unknown> }[],
	): Promise<void>;
	resolve(tenant: TenantRef, id: string, by: Responder, notes?: string, via?: string): Promise<Alert>;
	/** The admin statistics of alerts first seen in [since, until). */
	stats(tenant: TenantRef, since: Date, until: Date): Promise<store.AlertStats>;
	/** Flushes pending counters; call on shutdown. */
	close(): Promise<void>;
}

export interface AlertServiceDeps {
	db: Db;
	clock: Clock;
	bus: EventBus;
	dedup: DedupWindow;
	escalation: EscalationStarter;
	knowledgeBase?: KnowledgeBaseSearcher;
	rules: Pick<SeverityRuleApi, "current">;
	metrics: AlertMetrics;
	onError: (error: unknown, context: string) => void;
}

/** Topic of a tenant's alert events on the bus. */
export const alertTopic = (tenant: Pick<TenantRef, "slug">) => `alerts.${tenant.slug}`;

/**
 * A page's cursor: the sort it continues and the last alert's keys in it. It is opaque to clients
 * (base64url of JSON) and only valid with the sort and order it was made for.
 */
interface Cursor {
	sort: AlertSort;
	order: SortOrder;
	keys: (string | number)[];
	id: string;
}

function encodeCursor(alert: Alert, sort: AlertSort, order: SortOrder): string {
	const keys = store.sortKeys[sort].map((key) => {
		const value = key.of(alert);
		return value instanceof Date ? value.toISOString() : value;
	});
	return Buffer.from(JSON.stringify({ sort, order, keys, id: alert.id } satisfies Cursor)).toString("base64url");
}

const invalidCursor = (message: string) =>
	new AppError("validation", "alert.invalid_cursor", `The cursor ${message}`, {
		fields: [{ path: "querystring.cursor", message }],
	});

function decodeCursor(text: string, sort: AlertSort, order: SortOrder): NonNullable<store.AlertFilter["after"]> {
	let cursor: Partial<Cursor> | undefined;
	try {
		cursor = JSON.parse(Buffer.from(text, "base64url").toString());
	} catch {}
	const keys = store.sortKeys[cursor?.sort ?? sort];
	const values = cursor?.keys?.map((value, i) =>
		keys[i]?.type === "timestamptz" && typeof value === "string" ? new Date(value) : value,
	);
	const valid =
		typeof cursor?.id === "string" &&
		/^[0-9a-f-]{36}$/.test(cursor.id) &&
		values?.length === keys.length &&
		values.every((value, i) =>
			keys[i]!.type === "int" ? Number.isInteger(value) : value instanceof Date && !Number.isNaN(value.getTime()),
		);
	if (!valid) throw invalidCursor("is not one this API returned");
	if (cursor!.sort !== sort || cursor!.order !== order) {
		throw invalidCursor(`continues sort=${cursor!.sort}&order=${cursor!.order}: ask for the next page with those`);
	}
	return { keys: values as (Date | number)[], id: cursor!.id! };
}

/** What a request's writes returned. */
interface Written {
	opened: store.UpsertResult[];
	resolved: Alert[];
	acknowledged: { id: string; fingerprint: string }[];
}

const nothingWritten: Written = { opened: [], resolved: [], acknowledged: [] };

/** Repeats of an open alert to add to its count. */
interface RepeatCount {
	id: string;
	count: number;
}

interface Prepared {
	incoming: IncomingAlert;
	/** Its position in the payload. */
	index: number;
	fingerprint: string;
	severity: Severity;
}

/**
 * What a request's writes and its answer need once its alerts are read: flat text, ids and
 * strings, so that a request waiting for its batch holds no per-alert objects (ADR 0008).
 */
interface WritePlan {
	/** Each alert's, in payload order (the answer's order). */
	fingerprints: string[];
	statuses: AlertStatus[];
	/** The severities of the alerts received (events that only change an open alert carry none). */
	severities: Severity[];
	source: AlertSource | undefined;
	/** Repeats already counted against their open alert: fingerprint → alert id. */
	counted: Map<string, string>;
	/** The new firing alerts and the repeats the window did not know. */
	firing: FiringWrite | undefined;
	resolving: { fingerprint: string; endsAt: string | null }[];
	acknowledging: string[];
	/** What paging needs of each new alert of a paging severity, by fingerprint. */
	pageable: Map<string, Pick<Alert, "title" | "labels">>;
	now: Date;
	/** Who the writes are recorded as (`source:<sender>`). */
	by: string;
}

export function createAlertService(deps: AlertServiceDeps): AlertApi {
	const { db, clock, bus, dedup, escalation, knowledgeBase, metrics, onError } = deps;

	/** Every batcher, for close() to drain. */
	const allBatchers: Map<string, Batcher<never, unknown>>[] = [];
	/** Per tenant schema, a batcher of `make`'s flush, created on first use. */
	function perSchema<I, R>(make: (schema: string) => Batcher<I, R>): (schema: string) => Batcher<I, R> {
		const batchers = new Map<string, Batcher<I, R>>();
		allBatchers.push(batchers);
		return (schema) => {
			let batcher = batchers.get(schema);
			if (!batcher) {
				batcher = make(schema);
				batchers.set(schema, batcher);
			}
			return batcher;
		};
	}
	/**
	 * Repeats within the dedup window, a request's together, counted in one UPDATE per tenant per
	 * flush; each request learns which of its alerts were still open. Flushes may run
	 * concurrently: each locks its rows in fingerprint order, so two cannot deadlock. During a storm of
	 * repeats, flushes start at most every 2 ms: more repeats per statement, and ~8% less server
	 * CPU per repeat (ADR 0008); a repeat waits at most those 2 ms more.
	 */
	const counterFor = perSchema((schema) =>
		createBatcher<RepeatCount[], boolean[]>(
			async (requests) => {
				const merged = new Map<string, number>();
				for (const counts of requests) {
					for (const { id, count } of counts) merged.set(id, (merged.get(id) ?? 0) + count);
				}
				const counted = new Set(
					await store.addOccurrences(
						db,
						schema,
						[...merged].map(([id, count]) => ({ id, count })),
						clock.now(),
					),
				);
				return requests.map((counts) => counts.map(({ id }) => counted.has(id)));
			},
			{ concurrency: 2, groupCommit: { delayMs: 2, siblings: 5 } },
		),
	);

	/**
	 * New firing alerts of concurrent requests, written by one upsert per tenant per flush: during
	 * an alert storm a few statements (and commits) carry hundreds of requests.
	 */
	const upserterFor = perSchema((schema) =>
		createBatcher<FiringWrite, store.UpsertResult[]>((requests) => upsertTogether(schema, requests), {
			concurrency: 2,
			maxBatch: 1000,
			weight: (write) => write.fingerprints.length,
		}),
	);

	/**
	 * One statement per round of requests whose rows have distinct fingerprints (the upsert needs
	 * them so). Concurrent requests rarely share an alert; when they do, the later one goes to a
	 * later round and counts as a repeat of the alert the earlier one opened.
	 */
	async function upsertTogether(
		schema: string,
		requests: FiringWrite[],
	): Promise<(store.UpsertResult[] | ItemFailure)[]> {
		const results: (store.UpsertResult[] | ItemFailure)[] = [];
		for (const round of distinctRounds(requests)) {
			const writes = round.map((i) => requests[i]!);
			let written: (store.UpsertResult[] | ItemFailure)[];
			try {
				written = await store.upsertFiring(db, schema, writes);
			} catch (error) {
				if (writes.length === 1) throw error;
				// One request's rows must not fail the others': write each on its own, so each caller
				// gets its own outcome (an outage still fails them all).
				written = await Promise.all(
					writes.map((write) =>
						store.upsertFiring(db, schema, [write]).then(
							([rows]) => rows!,
							(failure: unknown) => new ItemFailure(failure),
						),
					),
				);
			}
			round.forEach((request, i) => {
				results[request] = written[i]!;
			});
		}
		return results;
	}

	/**
	 * Severity: the sender's (`stated`: its own, else its labels'), else the tenant's first matching
	 * rule, else the default.
	 */
	function prepare(
		incoming: IncomingAlert[],
		stated: (Severity | undefined)[],
		rules: readonly SeverityRule[],
	): Prepared[] {
		return incoming.map((alert, i) => ({
			incoming: alert,
			index: i,
			fingerprint: alert.fingerprint ?? fingerprintOfLabels(alert.labels),
			severity: stated[i] ?? severityFromRules(rules, alert.labels) ?? DEFAULT_SEVERITY,
		}));
	}

	/** The knowledge-base entry of each alert, by id; never fails the payload. */
	async function enrich(tenant: TenantRef, alerts: Prepared[]): Promise<(string | null)[]> {
		if (!knowledgeBase || alerts.length === 0) return alerts.map(() => null);
		try {
			const matches = await knowledgeBase.matchAlerts(
				tenant,
				alerts.map((a) => ({ fingerprint: a.fingerprint, labels: a.incoming.labels, title: a.incoming.title })),
			);
			return matches.map((match) => match?.id ?? null);
		} catch (error) {
			// A knowledge base that fails must not cost us the alert.
			onError(error, "knowledge base search");
			return alerts.map(() => null);
		}
	}

	// Repeats are committed by the time a request is answered; the UI hears of them at most once a second per alert.
	const announceRepeats = createRepeatAnnouncer();

	function publish(tenant: TenantRef, type: string, payload: Record<string, unknown>): void {
		bus.publish(alertTopic(tenant), { type, ...payload }).catch((error) => onError(error, "publish"));
	}

	/** A request's events in one bus message; subscribers still get them one by one. */
	function publishAll(tenant: TenantRef, events: object[]): void {
		bus.publishMany(alertTopic(tenant), events).catch((error) => onError(error, "publish"));
	}

	async function afterCommit(
		tenant: TenantRef,
		opened: store.UpsertResult[],
		resolved: Alert[],
		acknowledged: { id: string; fingerprint: string }[],
		pageable: Map<string, Pick<Alert, "title" | "labels">>,
	): Promise<void> {
		await Promise.all([
			// The window learns an alert when it repeats, not when it opens: most alerts of a storm
			// never repeat within it, and writing each would cost a cache write per alert (ADR 0008).
			// A first repeat takes the upsert, which counts it as the open alert's repeat all the same.
			dedup.remember(
				tenant.id,
				opened.flatMap((row) => (row.inserted ? [] : [{ fingerprint: row.fingerprint, alertId: row.id }])),
			),
			dedup.forget(
				tenant.id,
				resolved.map((row) => row.fingerprint),
			),
		]);
		const events: Record<string, unknown>[] = [];
		const work: Promise<unknown>[] = [];
		const paging: Parameters<EscalationStarter["start"]>[1] = [];
		for (const row of opened) {
			if (!row.inserted) continue;
			events.push({ type: "alert.created", alertId: row.id, fingerprint: row.fingerprint, severity: row.severity });
			const page = pagingSeverities.has(row.severity) ? pageable.get(row.fingerprint) : undefined;
			if (page) {
				paging.push({ id: row.id, fingerprint: row.fingerprint, severity: row.severity, ...page });
			}
		}
		if (paging.length > 0) {
			work.push(escalation.start(tenant, paging).catch((error) => onError(error, "escalation start")));
		}
		for (const row of resolved) {
			events.push({ type: "alert.resolved", alertId: row.id, fingerprint: row.fingerprint });
			work.push(escalation.stop(tenant, row.id, "resolved").catch((error) => onError(error, "escalation stop")));
			work.push(learn(tenant, row, { name: row.resolvedBy ?? "", kind: "source" }, null));
		}
		for (const row of acknowledged) {
			events.push({ type: "alert.acknowledged", alertId: row.id, fingerprint: row.fingerprint });
			work.push(escalation.stop(tenant, row.id, "acknowledged").catch((error) => onError(error, "escalation stop")));
		}
		publishAll(tenant, events);
		await Promise.all(work);
	}

	/** Writes a plan's alerts: one statement for firing alerts alone, else one transaction. */
	async function persist(tenant: TenantRef, plan: WritePlan): Promise<Written> {
		const { firing, resolving, acknowledging, now, by } = plan;
		if (resolving.length === 0 && acknowledging.length === 0) {
			// The common case, a payload of firing alerts, is one statement: atomic, one round trip.
			const opened = firing ? await upserterFor(tenant.schema).add(firing) : [];
			return { opened, resolved: [], acknowledged: [] };
		}
		// Its statements each lock their alerts in fingerprint order, but one transaction's several
		// statements can still meet another's in opposite orders: PostgreSQL then rolls one back.
		return retrySerializable(() =>
			db.transaction().execute(async (trx) => {
				const [opened = []] = firing ? await store.upsertFiring(trx, tenant.schema, [firing]) : [];
				const resolved = await store.resolveOpenByFingerprint(trx, tenant.schema, resolving, now, by);
				const acknowledged = await store.acknowledgeOpenByFingerprint(trx, tenant.schema, acknowledging, now, by);
				await store.insertEvents(trx, tenant.schema, [
					...resolved.map((row) => ({ alertId: row.id, type: "resolved" as const, at: now, actor: by })),
					...acknowledged.map((row) => ({ alertId: row.id, type: "acknowledged" as const, at: now, actor: by })),
				]);
				return { opened, resolved, acknowledged };
			}),
		);
	}

	/**
	 * The pipeline of spec §4.1, traced: alert.ingest → alert.dedup → alert.enrich → alert.persist →
	 * alert.notify. In two stages: the first reads the alerts and plans their writes; the second,
	 * which waits for its batch's statement (tens of milliseconds during a storm), holds only the
	 * plan, never the alerts' objects or the request's parsed body (ADR 0008).
	 */
	function ingest(tenant: TenantRef, incoming: IncomingAlert[], actor: string, body?: WebhookBody) {
		const attributes = { tenant: tenant.slug, source: incoming[0]?.source ?? "none", alerts: incoming.length };
		return inSpan("alert.ingest", attributes, () => runPipeline(tenant, incoming, actor, body));
	}

	/**
	 * Returns the second stage's promise instead of awaiting it, so that this frame (and `incoming`
	 * with it) is gone while the writes wait. A callback written here, such as `.then(plan => …)`,
	 * would keep it: V8 gives the closures of one scope one shared context.
	 */
	async function runPipeline(
		tenant: TenantRef,
		incoming: IncomingAlert[],
		actor: string,
		body: WebhookBody | undefined,
	): Promise<IngestResult> {
		const started = performance.now();
		const plan = await planWrites(tenant, incoming, actor, body);
		return applyPlan(tenant, plan, started);
	}

	/**
	 * Counts the repeats the dedup window knows against their open alerts: fingerprint → alert id of
	 * each one counted. One the window knew but whose alert has closed since is left out, to take
	 * the full path. Without a round trip to the shared cache when this process knows them all.
	 */
	async function countRepeats(
		tenant: TenantRef,
		byFingerprint: Map<string, { count: number }>,
	): Promise<Map<string, string>> {
		const lookup = dedup.lookup(tenant.id, [...byFingerprint.keys()]);
		const found = lookup instanceof Map ? lookup : await lookup;
		if (found.size === 0) return found;
		const ids = [...found];
		const open = await counterFor(tenant.schema).add(
			ids.map(([fingerprint, id]) => ({ id, count: byFingerprint.get(fingerprint)!.count })),
		);
		ids.forEach(([fingerprint], i) => {
			if (!open[i]) found.delete(fingerprint);
		});
		return found;
	}

	async function planWrites(
		tenant: TenantRef,
		incoming: IncomingAlert[],
		actor: string,
		body: WebhookBody | undefined,
	): Promise<WritePlan> {
		const stated = incoming.map((alert) => alert.severity ?? severityFromLabels(alert.labels));
		// The tenant's rules only when an alert states no severity: a storm's alerts nearly always do.
		const prepared = prepare(incoming, stated, stated.includes(undefined) ? await deps.rules.current(tenant) : []);
		const firing = prepared.filter((p) => p.incoming.status === "firing");

		// A payload may carry the same alert twice; the upsert needs distinct fingerprints.
		const byFingerprint = new Map<string, { alert: Prepared; count: number }>();
		for (const p of firing) {
			const seen = byFingerprint.get(p.fingerprint);
			byFingerprint.set(p.fingerprint, { alert: p, count: (seen?.count ?? 0) + 1 });
		}

		// Fast path: repeats inside the window count themselves against the open alert.
		const counted = await inSpan("alert.dedup", { alerts: byFingerprint.size }, () =>
			countRepeats(tenant, byFingerprint),
		);
		for (const fingerprint of counted.keys()) byFingerprint.delete(fingerprint);

		const now = clock.now();
		const plan: WritePlan = {
			fingerprints: [],
			statuses: [],
			// A request comes through one receiver, so its alerts share their source.
			source: incoming[0]?.source,
			severities: [],
			counted,
			firing: undefined,
			resolving: [],
			acknowledging: [],
			pageable: new Map(),
			now,
			by: `source:${actor}`,
		};
		for (const { fingerprint, incoming: alert, severity } of prepared) {
			plan.fingerprints.push(fingerprint);
			plan.statuses.push(alert.status);
			if (!alert.changeOnly) plan.severities.push(severity);
			if (alert.status === "resolved") plan.resolving.push({ fingerprint, endsAt: alert.endsAt ?? null });
			else if (alert.status === "acknowledged") plan.acknowledging.push(fingerprint);
		}
		const misses = [...byFingerprint.values()];
		if (misses.length === 0) return plan;

		const kbIds = await inSpan("alert.enrich", { alerts: misses.length }, () =>
			enrich(
				tenant,
				misses.map((m) => m.alert),
			),
		);
		const request: store.FiringRequest = {
			seenAt: now,
			actor: plan.by,
			// There are alerts to write, so there is a source.
			source: plan.source!,
			payload: body && { id: timeOrderedId(now), body: body.bytes },
		};
		const seenAt = now.toISOString();
		const rows: FiringRow[] = misses.map(({ alert, count }, i) => ({
			fingerprint: alert.fingerprint,
			severity: alert.severity,
			title: alert.incoming.title,
			description: alert.incoming.description,
			labels: alert.incoming.labels,
			annotations: alert.incoming.annotations,
			starts_at: alert.incoming.startsAt ?? seenAt,
			generator_url: alert.incoming.generatorUrl,
			occurrences: count,
			kb_incident_id: kbIds[i] ?? undefined,
			raw: body ? undefined : alert.incoming.raw,
			payload_path: body?.pathOf(alert.index),
		}));
		plan.firing = store.firingWrite(request, rows);
		for (const { alert } of misses) {
			if (!pagingSeverities.has(alert.severity)) continue;
			plan.pageable.set(alert.fingerprint, { title: alert.incoming.title, labels: alert.incoming.labels });
		}
		return plan;
	}

	/** The second stage: writes the plan, if it has anything left to write, then answers. */
	function applyPlan(tenant: TenantRef, plan: WritePlan, started: number): IngestResult | Promise<IngestResult> {
		if (!plan.firing && plan.resolving.length === 0 && plan.acknowledging.length === 0) {
			// Only repeats, counted already: the common request of a storm.
			return answer(tenant, plan, nothingWritten, started);
		}
		return writeThenAnswer(tenant, plan, started);
	}

	async function writeThenAnswer(tenant: TenantRef, plan: WritePlan, started: number): Promise<IngestResult> {
		const written = await inSpan("alert.persist", { alerts: plan.fingerprints.length }, () => persist(tenant, plan));
		const { opened, resolved, acknowledged } = written;
		await inSpan("alert.notify", {}, () => afterCommit(tenant, opened, resolved, acknowledged, plan.pageable));
		return answer(tenant, plan, written, started);
	}

	/** What became of each alert, in payload order; the request's metrics are recorded with it. */
	function answer(tenant: TenantRef, plan: WritePlan, written: Written, started: number): IngestResult {
		const { opened, resolved, acknowledged } = written;
		const openedBy = opened.length > 0 ? new Map(opened.map((row) => [row.fingerprint, row])) : undefined;
		const closedBy = resolved.length > 0 ? new Map(resolved.map((r) => [r.fingerprint, r.id])) : undefined;
		const ackedBy = acknowledged.length > 0 ? new Map(acknowledged.map((r) => [r.fingerprint, r.id])) : undefined;
		const results = plan.fingerprints.map((fingerprint, i): IngestResult["alerts"][number] => {
			const status = plan.statuses[i];
			if (status === "firing") {
				const repeated = plan.counted.get(fingerprint);
				if (repeated) return { fingerprint, alertId: repeated, outcome: "deduplicated" };
				const row = openedBy!.get(fingerprint)!;
				return { fingerprint, alertId: row.id, outcome: row.inserted ? "created" : "deduplicated" };
			}
			const id = (status === "resolved" ? closedBy : ackedBy)?.get(fingerprint);
			if (!id) return { fingerprint, alertId: null, outcome: "ignored" };
			return { fingerprint, alertId: id, outcome: status === "resolved" ? "resolved" : "acknowledged" };
		});

		metrics.record(tenant, plan, results, (performance.now() - started) / 1000);
		const updates = announceRepeats(results, plan.now.getTime());
		if (updates) publishAll(tenant, updates);
		return { alerts: results };
	}

	/** Tells the knowledge base (spec §4.3) and links the alert to the entry it turned out to be. */
	async function learn(
		tenant: TenantRef,
		alert: Alert,
		resolvedBy: AlertResolution["resolvedBy"],
		notes: string | null,
	): Promise<void> {
		if (!knowledgeBase) return;
		try {
			const { incidentId } = await knowledgeBase.alertResolved(tenant, {
				alertId: alert.id,
				fingerprint: alert.fingerprint,
				title: alert.title,
				labels: alert.labels,
				kbIncidentId: alert.kbIncidentId,
				startsAt: alert.startsAt,
				acknowledgedAt: alert.acknowledgedAt,
				resolvedAt: alert.resolvedAt ?? clock.now(),
				resolvedBy,
				notes,
			});
			if (incidentId && incidentId !== alert.kbIncidentId) {
				await store.linkIncident(db, tenant.schema, alert.id, incidentId);
				alert.kbIncidentId = incidentId;
			}
		} catch (error) {
			// The resolution stands; only the learning is lost, and it is logged.
			onError(error, "knowledge base learning");
		}
	}

	async function changeStatus(
		tenant: TenantRef,
		id: string,
		action: "acknowledge" | "resolve",
		responder: Responder,
		notes?: string,
		via?: string,
	): Promise<Alert> {
		const by = responder.name;
		const now = clock.now();
		const result = await db.transaction().execute(async (trx) => {
			const alert = await store.findAlertForUpdate(trx, tenant.schema, id);
			if (!alert) throw new AppError("not_found", "alert.not_found", `Alert ${id} does not exist`);
			const outcome = transition(alert.status, action);
			if (outcome.kind === "invalid") throw new AppError("conflict", "alert.invalid_transition", outcome.reason);
			if (outcome.kind === "unchanged") return { alert, changed: false };
			const updated = await store.updateAlertStatus(
				trx,
				tenant.schema,
				id,
				action === "acknowledge"
					? { status: "acknowledged", at: now, by }
					: { status: "resolved", at: now, by, notes: notes ?? null },
			);
			await store.insertEvents(trx, tenant.schema, [
				{
					alertId: id,
					type: action === "acknowledge" ? "acknowledged" : "resolved",
					at: now,
					actor: by,
					details: { ...(notes && { notes }), ...(via && { via }) },
				},
			]);
			await writeAudit(trx, tenant.schema, responder.actor ?? actorFromName(by, responder.kind), {
				action: `alert.${action}`,
				targetType: "alert",
				targetId: id,
				before: { status: alert.status },
				after: { status: updated.status, ...(notes && { notes }), ...(via && { via }) },
			});
			return { alert: updated, changed: true };
		});
		if (result.changed) {
			if (action === "resolve") await dedup.forget(tenant.id, [result.alert.fingerprint]);
			if (action === "acknowledge") metrics.acknowledged(tenant);
			publish(tenant, action === "acknowledge" ? "alert.acknowledged" : "alert.resolved", {
				alertId: id,
				fingerprint: result.alert.fingerprint,
			});
			// Learning first: the escalation's Slack follow-up asks for a knowledge-base entry when the
			// learning raised a prompt. The engine checks the alert's status itself, so no page goes
			// out meanwhile.
			if (action === "resolve") await learn(tenant, result.alert, responder, notes ?? null);
			await escalation
				.stop(tenant, id, action === "acknowledge" ? "acknowledged" : "resolved")
				.catch((error) => onError(error, "escalation stop"));
		}
		return result.alert;
	}

	return {
		ingest,
		async list(tenant, { cursor, sort = "last_seen", order = "desc", ...rest }) {
			const filter = { ...rest, sort, order };
			const after = cursor ? decodeCursor(cursor, sort, order) : undefined;
			const alerts = await store.listAlerts(db, tenant.schema, { ...filter, after, limit: filter.limit + 1 });
			const page = alerts.slice(0, filter.limit);
			if (alerts.length <= filter.limit) return { alerts: page };
			return { alerts: page, nextCursor: encodeCursor(page.at(-1)!, sort, order) };
		},
		async get(tenant, id) {
			const alert = await store.findAlert(db, tenant.schema, id);
			if (!alert) throw new AppError("not_found", "alert.not_found", `Alert ${id} does not exist`);
			const [events, knowledge] = await Promise.all([
				store.listEvents(db, tenant.schema, id),
				alert.kbIncidentId && knowledgeBase
					? knowledgeBase.entry(tenant, alert.kbIncidentId).catch((error) => {
							onError(error, "knowledge base entry");
							return undefined;
						})
					: undefined,
			]);
			return { alert, events, knowledgeBase: knowledge };
		},
		async views(tenant, ids) {
			const found = await store.findAlerts(db, tenant.schema, [...new Set(ids)]);
			const entryIds = [...new Set(found.flatMap((a) => (a.kbIncidentId ? [a.kbIncidentId] : [])))];
			const entries = new Map(
				await Promise.all(
					entryIds.map(
						async (id) =>
							[
								id,
								await knowledgeBase?.entry(tenant, id).catch((error) => {
									onError(error, "knowledge base entry");
									return undefined;
								}),
							] as const,
					),
				),
			);
			return new Map(
				found.map((alert) => [
					alert.id,
					{ alert, knowledgeBase: alert.kbIncidentId ? entries.get(alert.kbIncidentId) : undefined },
				]),
			);
		},
		acknowledge: (tenant, id, by, via, actor) =>
			changeStatus(tenant, id, "acknowledge", { name: by, kind: "member", actor }, undefined, via),
		recordTimeline: (tenant, events) =>
			store.insertEvents(
				db,
				tenant.schema,
				events.map((e) => ({ ...e, actor: "escalation" })),
			),
		resolve: (tenant, id, by, notes, via) => changeStatus(tenant, id, "resolve", by, notes, via),
		stats: (tenant, since, until) => store.alertStats(db, tenant.schema, since, until),
		async close() {
			await Promise.all(allBatchers.flatMap((batchers) => [...batchers.values()].map((b) => b.drain())));
		},
	};
}

/**
 * The writes' indexes in rounds within which no two share a fingerprint: a write goes to the first
 * round that has none of its fingerprints yet. Each write's own fingerprints are distinct.
 */
function distinctRounds(writes: FiringWrite[]): number[][] {
	const rounds: { members: number[]; fingerprints: Set<string> }[] = [];
	writes.forEach((write, index) => {
		let round = rounds.find((r) => !write.fingerprints.some((fingerprint) => r.fingerprints.has(fingerprint)));
		if (!round) {
			round = { members: [], fingerprints: new Set() };
			rounds.push(round);
		}
		round.members.push(index);
		for (const fingerprint of write.fingerprints) round.fingerprints.add(fingerprint);
	});
	return rounds.map((round) => round.members);
}

/**
 * The audit actor behind a recorded name (`api_key:<id>`, `member:<id>`, `system:<what>`): who
 * acknowledged or resolved, as alerts record it. An agent's key is audited as an agent.
 */
function actorFromName(name: string, kind: Responder["kind"]): Actor {
	if (kind === "agent") return { principal: { type: "system", id: `agent:${name}` } };
	const memberId = memberIdOf(name);
	return { principal: memberId ? { type: "member", id: memberId } : { type: "system", id: name } };
}
