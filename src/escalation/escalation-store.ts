import { sql } from "kysely";
import type { LabelMatcher } from "../alert/index.ts";
import { type Db, jsonb } from "../platform/db/index.ts";
import type { PolicySnapshot } from "./step.ts";

export type EscalationStatus = "active" | "acknowledged" | "resolved" | "exhausted";

/** A running (or finished) escalation of one alert. */
export interface Escalation {
	id: string;
	alertId: string;
	policyId: string | null;
	policy: PolicySnapshot;
	status: EscalationStatus;
	/** The next tier to fire: tier `tier` of pass `attempt`, at `nextActionAt`. */
	attempt: number;
	tier: number;
	nextActionAt: Date | null;
	startedAt: Date;
	stoppedAt: Date | null;
}

interface EscalationRow {
	id: string;
	alert_id: string;
	policy_id: string | null;
	policy: PolicySnapshot;
	status: EscalationStatus;
	attempt: number;
	tier: number;
	next_action_at: Date | null;
	started_at: Date;
	stopped_at: Date | null;
}

const escalationFromRow = (row: EscalationRow): Escalation => ({
	id: row.id,
	alertId: row.alert_id,
	policyId: row.policy_id,
	policy: row.policy,
	status: row.status,
	attempt: row.attempt,
	tier: row.tier,
	nextActionAt: row.next_action_at,
	startedAt: row.started_at,
	stoppedAt: row.stopped_at,
});

const table = (schema: string, name: string) => sql.table(`${schema}.${name}`);

/** Starts escalations in one statement; an alert that already has one is skipped (a second start is harmless). */
export async function insertEscalations(
	db: Db,
	schema: string,
	inputs: { alertId: string; policyId: string; policy: PolicySnapshot; at: Date }[],
): Promise<Escalation[]> {
	if (inputs.length === 0) return [];
	const values = inputs.map((i) => ({
		alert_id: i.alertId,
		policy_id: i.policyId,
		policy: i.policy,
		at: i.at.toISOString(),
	}));
	const { rows } = await sql<EscalationRow>`
		insert into ${table(schema, "escalations")} (alert_id, policy_id, policy, next_action_at, started_at)
		select v.alert_id, v.policy_id, v.policy, v.at, v.at
		from jsonb_to_recordset(${jsonb(values)}) as v (alert_id uuid, policy_id uuid, policy jsonb, at timestamptz)
		on conflict (alert_id) do nothing
		returning *`.execute(db);
	return rows.map(escalationFromRow);
}

export async function findEscalations(db: Db, schema: string, ids: string[]): Promise<Escalation[]> {
	if (ids.length === 0) return [];
	const { rows } = await sql<EscalationRow>`
		select * from ${table(schema, "escalations")} where id = any(${ids}::uuid[])`.execute(db);
	return rows.map(escalationFromRow);
}

/** A move of one escalation: from the position it was read at, to the next, or finished. */
export interface Move {
	id: string;
	from: { attempt: number; tier: number };
	to: { attempt: number; tier: number; at: Date } | { status: "exhausted"; at: Date };
}

/**
 * Applies moves in one statement, each only if the escalation is still active at the position read
 * (stopped meanwhile, or moved by another worker: left alone). Returns the ids that moved.
 */
export async function advanceEscalations(db: Db, schema: string, moves: Move[]): Promise<Set<string>> {
	if (moves.length === 0) return new Set();
	const values = moves.map((m) => ({
		id: m.id,
		from_attempt: m.from.attempt,
		from_tier: m.from.tier,
		finish: "status" in m.to,
		to_attempt: "status" in m.to ? null : m.to.attempt,
		to_tier: "status" in m.to ? null : m.to.tier,
		at: m.to.at.toISOString(),
	}));
	const { rows } = await sql<{ id: string }>`
		update ${table(schema, "escalations")} e set
			status = case when v.finish then 'exhausted' else e.status end,
			attempt = coalesce(v.to_attempt, e.attempt),
			tier = coalesce(v.to_tier, e.tier),
			next_action_at = case when v.finish then null else v.at end,
			stopped_at = case when v.finish then v.at else e.stopped_at end
		from jsonb_to_recordset(${jsonb(values)}) as v (id uuid, from_attempt int, from_tier int, finish boolean,
			to_attempt int, to_tier int, at timestamptz)
		where e.id = v.id and e.status = 'active' and e.attempt = v.from_attempt and e.tier = v.from_tier
		returning e.id`.execute(db);
	return new Set(rows.map((row) => row.id));
}

/** Of these alerts, the ones that have an escalation (running or finished). */
export async function alertsWithEscalation(db: Db, schema: string, alertIds: string[]): Promise<Set<string>> {
	if (alertIds.length === 0) return new Set();
	const { rows } = await sql<{ alert_id: string }>`
		select alert_id from ${table(schema, "escalations")} where alert_id = any(${alertIds}::uuid[])`.execute(db);
	return new Set(rows.map((row) => row.alert_id));
}

export async function findEscalationOfAlert(db: Db, schema: string, alertId: string): Promise<Escalation | undefined> {
	const { rows } = await sql<EscalationRow>`
		select * from ${table(schema, "escalations")} where alert_id = ${alertId}`.execute(db);
	return rows[0] && escalationFromRow(rows[0]);
}

/** Stops an alert's active escalation; returns it as it was, or undefined when none was active. */
export async function stopEscalation(
	db: Db,
	schema: string,
	alertId: string,
	status: "acknowledged" | "resolved",
	at: Date,
): Promise<Escalation | undefined> {
	const { rows } = await sql<EscalationRow>`
		update ${table(schema, "escalations")} e
		set status = ${status}, next_action_at = null, stopped_at = ${at}
		from ${table(schema, "escalations")} before
		where e.alert_id = ${alertId} and e.status = 'active' and before.id = e.id
		returning before.*`.execute(db);
	return rows[0] && escalationFromRow(rows[0]);
}

/** A route: the first whose matchers all match an alert's labels picks its policy; none: the default. */
export interface RouteRow {
	position: number;
	matchers: LabelMatcher[];
	policyId: string;
}

export async function listRoutes(db: Db, schema: string): Promise<RouteRow[]> {
	const { rows } = await sql<{ position: number; matchers: RouteRow["matchers"]; policy_id: string }>`
		select position, matchers, policy_id from ${table(schema, "escalation_routes")} order by position`.execute(db);
	return rows.map((row) => ({ position: row.position, matchers: row.matchers, policyId: row.policy_id }));
}

/** Replaces every route (they are edited as one ordered list). */
export async function replaceRoutes(db: Db, schema: string, routes: Omit<RouteRow, "position">[]): Promise<void> {
	await sql`delete from ${table(schema, "escalation_routes")}`.execute(db);
	if (routes.length === 0) return;
	await sql`
		insert into ${table(schema, "escalation_routes")} (position, matchers, policy_id)
		select ordinality - 1, route ->'matchers', (route ->> 'policyId')::uuid
		from jsonb_array_elements(${jsonb(routes)}) with ordinality as r (route, ordinality)`.execute(db);
}
