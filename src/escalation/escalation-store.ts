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

/** Starts an escalation; undefined when the alert already has one (a second start is harmless). */
export async function insertEscalation(
	db: Db,
	schema: string,
	input: { alertId: string; policyId: string; policy: PolicySnapshot; at: Date },
): Promise<Escalation | undefined> {
	const { rows } = await sql<EscalationRow>`
		insert into ${table(schema, "escalations")} (alert_id, policy_id, policy, next_action_at, started_at)
		values (${input.alertId}, ${input.policyId}, ${jsonb(input.policy)}, ${input.at}, ${input.at})
		on conflict (alert_id) do nothing
		returning *`.execute(db);
	return rows[0] && escalationFromRow(rows[0]);
}

export async function findEscalation(db: Db, schema: string, id: string): Promise<Escalation | undefined> {
	const { rows } = await sql<EscalationRow>`select * from ${table(schema, "escalations")} where id = ${id}`.execute(db);
	return rows[0] && escalationFromRow(rows[0]);
}

export async function findEscalationOfAlert(db: Db, schema: string, alertId: string): Promise<Escalation | undefined> {
	const { rows } = await sql<EscalationRow>`
		select * from ${table(schema, "escalations")} where alert_id = ${alertId}`.execute(db);
	return rows[0] && escalationFromRow(rows[0]);
}

/**
 * Moves an active escalation from the position the caller read to the next one (or finishes it);
 * false when it is no longer there: stopped, or advanced by another worker.
 */
export async function advanceEscalation(
	db: Db,
	schema: string,
	id: string,
	from: { attempt: number; tier: number },
	to: { attempt: number; tier: number; at: Date } | { status: "exhausted"; at: Date },
): Promise<boolean> {
	const set =
		"status" in to
			? sql`status = 'exhausted', next_action_at = null, stopped_at = ${to.at}`
			: sql`attempt = ${to.attempt}, tier = ${to.tier}, next_action_at = ${to.at}`;
	const result = await sql`
		update ${table(schema, "escalations")} set ${set}
		where id = ${id} and status = 'active' and attempt = ${from.attempt} and tier = ${from.tier}`.execute(db);
	return Number(result.numAffectedRows ?? 0) > 0;
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
