import { sql } from "kysely";
import type { Db } from "../platform/db/index.ts";

/** What a timer points at: an escalation's next tier, or an outbox row to deliver. */
export type TimerKind = "escalation" | "notification";

export interface Timer {
	tenantId: string;
	kind: TimerKind;
	refId: string;
	dueAt: Date;
}

interface TimerRow {
	tenant_id: string;
	kind: TimerKind;
	ref_id: string;
	due_at: Date;
}

const timerFromRow = (row: TimerRow): Timer => ({
	tenantId: row.tenant_id,
	kind: row.kind,
	refId: row.ref_id,
	dueAt: row.due_at,
});

/** Sets (or moves) the timer of one row. */
export async function setTimers(db: Db, timers: Timer[]): Promise<void> {
	if (timers.length === 0) return;
	await sql`
		insert into public.escalation_timers (tenant_id, kind, ref_id, due_at)
		select * from unnest(${timers.map((t) => t.tenantId)}::uuid[], ${timers.map((t) => t.kind)}::text[],
			${timers.map((t) => t.refId)}::uuid[], ${timers.map((t) => t.dueAt.toISOString())}::timestamptz[])
		on conflict (tenant_id, kind, ref_id) do update set due_at = excluded.due_at`.execute(db);
}

export async function deleteTimers(db: Db, tenantId: string, kind: TimerKind, refIds: string[]): Promise<void> {
	if (refIds.length === 0) return;
	await sql`
		delete from public.escalation_timers
		where tenant_id = ${tenantId} and kind = ${kind} and ref_id = any(${refIds}::uuid[])`.execute(db);
}

/**
 * Of timers this worker leased until `leaseEnd`, the ones it still holds: their `due_at` is still
 * the lease's end (a lease that ran out and was taken by another worker has moved it). Locks them
 * for the caller's transaction; SKIP LOCKED, so workers never wait on each other.
 */
export async function stillLeased(
	trx: Db,
	tenantId: string,
	kind: TimerKind,
	refIds: string[],
	leaseEnd: Date,
): Promise<Set<string>> {
	if (refIds.length === 0) return new Set();
	const { rows } = await sql<{ ref_id: string }>`
		select ref_id from public.escalation_timers
		where tenant_id = ${tenantId} and kind = ${kind} and ref_id = any(${refIds}::uuid[]) and due_at = ${leaseEnd}
		for update skip locked`.execute(trx);
	return new Set(rows.map((row) => row.ref_id));
}

/**
 * Claims up to `limit` due timers of a kind and pushes each forward by `leaseMs`, in one statement:
 * if the claiming worker dies, the timer comes due again when the lease ends. Returns each with the
 * instant it was due (for lateness), not the lease's end.
 */
export async function leaseDue(db: Db, kind: TimerKind, now: Date, leaseMs: number, limit: number): Promise<Timer[]> {
	const until = new Date(now.getTime() + leaseMs);
	const { rows } = await sql<TimerRow>`
		update public.escalation_timers t set due_at = ${until}
		from (
			select tenant_id, kind, ref_id, due_at from public.escalation_timers
			where kind = ${kind} and due_at <= ${now}
			order by due_at limit ${limit}
			for update skip locked
		) due
		where t.tenant_id = due.tenant_id and t.kind = due.kind and t.ref_id = due.ref_id
		returning t.tenant_id, t.kind, t.ref_id, due.due_at`.execute(db);
	return rows.map(timerFromRow);
}

/** The earliest due instant of any timer of a kind, to sleep until. */
export async function nextDue(db: Db, kind: TimerKind): Promise<Date | undefined> {
	const { rows } = await sql<{ due_at: Date | null }>`
		select min(due_at) as due_at from public.escalation_timers where kind = ${kind}`.execute(db);
	return rows[0]?.due_at ?? undefined;
}

/** Timers whose instant passed more than `graceMs` ago: the auditor's count, which must stay 0. */
export async function countOverdue(db: Db, now: Date, graceMs: number): Promise<number> {
	const { rows } = await sql<{ n: number }>`
		select count(*)::int as n from public.escalation_timers
		where due_at < ${new Date(now.getTime() - graceMs)}`.execute(db);
	return rows[0]?.n ?? 0;
}
