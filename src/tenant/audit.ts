import { type Generated, type Selectable, sql } from "kysely";
import type { Db } from "../platform/db/index.ts";
import type { Actor } from "./types.ts";

/** The tenant-schema table this module owns (spec `tenant/audit.go`). */
type AuditTables = {
	audit_log: {
		id: Generated<string>;
		at: Generated<Date>;
		actor_type: string;
		actor_id: string | null;
		actor_role: string | null;
		action: string;
		target_type: string;
		target_id: string | null;
		before: unknown;
		after: unknown;
		request_id: string | null;
		source_ip: string | null;
	};
};

export interface AuditEntry {
	action: string;
	targetType: string;
	targetId?: string;
	before?: unknown;
	after?: unknown;
}

export interface AuditRecord extends Required<Pick<AuditEntry, "action" | "targetType">> {
	id: string;
	at: Date;
	actorType: string;
	actorId: string | null;
	actorRole: string | null;
	targetId: string | null;
	before: unknown;
	after: unknown;
	requestId: string | null;
	sourceIp: string | null;
}

/** How a change records who made it (`created_by`, `changed_by`): `api_key:<id>`, `system:<id>`, … */
export const actorName = (actor: Actor): string => `${actor.principal.type}:${actor.principal.id}`;

/** The member a recorded actor name (`member:<id>`) names, if it names one. */
export const memberIdOf = (name: string | null | undefined): string | undefined =>
	name?.startsWith("member:") ? name.slice("member:".length) : undefined;

/**
 * Writes one audit row into the tenant's schema. Call it with the transaction that makes the
 * change, so the change and its record commit together or not at all.
 */
export async function writeAudit(trx: Db, schema: string, actor: Actor, entry: AuditEntry): Promise<void> {
	const principal = actor.principal;
	await trx
		.withSchema(schema)
		.withTables<AuditTables>()
		.insertInto("audit_log")
		.values({
			actor_type: principal.type,
			actor_id: principal.id,
			actor_role: principal.type === "api_key" || principal.type === "member" ? (principal.role ?? null) : null,
			action: entry.action,
			target_type: entry.targetType,
			target_id: entry.targetId ?? null,
			before: entry.before === undefined ? null : JSON.stringify(entry.before),
			after: entry.after === undefined ? null : JSON.stringify(entry.after),
			request_id: actor.requestId ?? null,
			source_ip: actor.sourceIp ?? null,
		})
		.execute();
}

/** What the audit-log API filters by; every field narrows. */
export interface AuditFilter {
	/** An exact action (`member.create`), or a prefix ending in `.` (`member.`). */
	action?: string;
	actorType?: string;
	actorId?: string;
	targetType?: string;
	targetId?: string;
	since?: Date;
	until?: Date;
	/** Continue after this row (newest first). */
	after?: { at: Date; id: string };
	limit: number;
}

/** A tenant's audit rows, newest first, keyset-paginated so pages hold still while rows arrive. */
export async function queryAudit(db: Db, schema: string, filter: AuditFilter): Promise<AuditRecord[]> {
	let query = db.withSchema(schema).withTables<AuditTables>().selectFrom("audit_log").selectAll();
	if (filter.action) {
		query = filter.action.endsWith(".")
			? query.where(sql<boolean>`starts_with(action, ${filter.action})`)
			: query.where("action", "=", filter.action);
	}
	if (filter.actorType) query = query.where("actor_type", "=", filter.actorType);
	if (filter.actorId) query = query.where("actor_id", "=", filter.actorId);
	if (filter.targetType) query = query.where("target_type", "=", filter.targetType);
	if (filter.targetId) query = query.where("target_id", "=", filter.targetId);
	if (filter.since) query = query.where("at", ">=", filter.since);
	if (filter.until) query = query.where("at", "<", filter.until);
	if (filter.after) {
		const { at, id } = filter.after;
		query = query.where(sql<boolean>`(at, id) < (${at}, ${id}::uuid)`);
	}
	const rows = await query.orderBy("at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
	return rows.map(recordFromRow);
}

/** The newest audit rows of a tenant. */
export async function listAudit(db: Db, schema: string, limit = 100): Promise<AuditRecord[]> {
	return queryAudit(db, schema, { limit });
}

function recordFromRow(row: Selectable<AuditTables["audit_log"]>): AuditRecord {
	return {
		id: row.id,
		at: row.at,
		actorType: row.actor_type,
		actorId: row.actor_id,
		actorRole: row.actor_role,
		action: row.action,
		targetType: row.target_type,
		targetId: row.target_id,
		before: row.before,
		after: row.after,
		requestId: row.request_id,
		sourceIp: row.source_ip,
	};
}
