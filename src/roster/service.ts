import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError, mapPgError } from "../platform/errors.ts";
import { type Actor, actorName, type MemberApi, type TenantApi, type TenantRef, writeAudit } from "../tenant/index.ts";
import { type Handoff, handoffsBetween } from "./handoffs.ts";
import type { ImportedEvent } from "./ical-import.ts";
import { gaps, nextOnCall, onCallAt, timeline } from "./schedule.ts";
import * as store from "./store.ts";
import { DAY_MS, isValidZone, parseWallClock } from "./timezone.ts";
import type { Gap, OnCall, RosterSpec, Shift } from "./types.ts";

export type { HandoffRecord, LayerInput, OverrideRecord, RosterFields, RosterRecord } from "./store.ts";

/** The longest window a timeline, gap search or export may cover. */
export const MAX_WINDOW_DAYS = 731;
/** What a calendar export covers by default. */
export const DEFAULT_EXPORT_DAYS = 90;
/** The longest shift a layer may have, per unit (a year). */
const MAX_SHIFT = { hours: 24 * 366, days: 366, weeks: 52 } as const;
/** The largest calendar an import fetches. */
const MAX_CALENDAR_BYTES = 5 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

/** Fetches a calendar feed, bounded in time and size. */
async function fetchCalendar(url: string): Promise<string> {
	const failed = (reason: string) =>
		new AppError("unprocessable", "roster.calendar_unreachable", `Could not fetch the calendar: ${reason}`, {
			fields: [{ path: "body.url", message: reason }],
		});
	let response: Response;
	try {
		response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: "follow" });
	} catch (error) {
		throw failed(
			(error as Error).name === "TimeoutError"
				? `no answer within ${FETCH_TIMEOUT_MS / 1000} s`
				: "it is not reachable",
		);
	}
	if (!response.ok) throw failed(`it answered ${response.status}`);
	const text = await response.text();
	if (Buffer.byteLength(text) > MAX_CALENDAR_BYTES) throw failed(`it is larger than ${MAX_CALENDAR_BYTES} bytes`);
	return text;
}

/** A handoff just recorded, with what announcing it needs. */
export interface RecordedHandoff extends Handoff {
	rosterId: string;
	rosterName: string;
}

/** What the escalation engine asks (spec §3.2 RosterQuerier). */
export interface RosterQuerier {
	getCurrentOnCall(tenant: TenantRef, rosterId: string, at: Date): Promise<OnCall | undefined>;
	getNextOnCall(tenant: TenantRef, rosterId: string, at: Date): Promise<OnCall | undefined>;
}

/** On-call rosters (`/api/v1/rosters`). */
export interface RosterApi extends RosterQuerier {
	list(tenant: TenantRef): Promise<store.RosterRecord[]>;
	get(tenant: TenantRef, id: string): Promise<store.RosterRecord>;
	create(
		tenant: TenantRef,
		input: store.RosterFields & { layers: store.LayerInput[] },
		actor: Actor,
	): Promise<store.RosterRecord>;
	update(
		tenant: TenantRef,
		id: string,
		version: number,
		input: store.RosterFields & { layers: store.LayerInput[] },
		actor: Actor,
	): Promise<store.RosterRecord>;
	remove(tenant: TenantRef, id: string, actor: Actor): Promise<void>;
	shifts(tenant: TenantRef, id: string, from: Date, to: Date): Promise<Shift[]>;
	gaps(tenant: TenantRef, id: string, from: Date, to: Date): Promise<Gap[]>;
	overrides(tenant: TenantRef, id: string, from: Date, to: Date): Promise<store.OverrideRecord[]>;
	addOverride(
		tenant: TenantRef,
		id: string,
		override: { memberId: string; from: Date; until: Date },
		actor: Actor,
	): Promise<store.OverrideRecord>;
	removeOverride(tenant: TenantRef, id: string, overrideId: string, actor: Actor): Promise<void>;
	/** RFC 5545 calendar of the shifts in [from, to). */
	exportCalendar(tenant: TenantRef, id: string, from: Date, to: Date): Promise<string>;
	/** A new secret feed URL token for calendar clients; earlier ones stop working. */
	createFeed(tenant: TenantRef, id: string, actor: Actor): Promise<string>;
	/** The calendar behind a feed token (the next {@link DEFAULT_EXPORT_DAYS} days). */
	feedCalendar(token: string): Promise<string>;
	handoffs(tenant: TenantRef, id: string, limit: number): Promise<store.HandoffRecord[]>;
	/**
	 * Adds a calendar layer on top made from an iCalendar file or feed URL: each event is the shift of
	 * the member it names (X-OPSWATCH-MEMBER, an attendee's or organizer's address, or their name or
	 * address in the summary). Events from 30 days ago to {@link MAX_WINDOW_DAYS} days ahead are kept.
	 */
	importLayer(
		tenant: TenantRef,
		id: string,
		input: { name: string; ics?: string; url?: string },
		actor: Actor,
	): Promise<store.RosterRecord>;
	/**
	 * Records the handoffs of every roster of the tenant within (from, to]; returns those this call
	 * recorded (another worker may have recorded the rest), for announcing.
	 */
	recordHandoffs(tenant: TenantRef, from: Date, to: Date): Promise<RecordedHandoff[]>;
	/** Why a member cannot be removed, if a roster uses them. */
	memberUsage(tenant: TenantRef, memberId: string): Promise<string | undefined>;
}

export interface RosterServiceDeps {
	db: Db;
	clock: Clock;
	members: Pick<MemberApi, "findMany" | "list">;
	tenants: Pick<TenantApi, "findTenantById">;
}

const notFound = (id: string) => new AppError("not_found", "roster.not_found", `Roster ${id} does not exist`);
const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");
const nameTaken = {
	rosters_name_key: { code: "roster.name_taken", message: "Another roster has this name", field: "body.name" },
};

function invalid(code: string, path: string, message: string): AppError {
	return new AppError("validation", code, `${path.replace(/^body\./, "")}: ${message}`, {
		fields: [{ path, message }],
	});
}

/** A window the API accepts: from before to, and at most {@link MAX_WINDOW_DAYS} long. */
export function checkWindow(from: Date, to: Date, path = "querystring"): void {
	if (to.getTime() <= from.getTime()) throw invalid("roster.invalid_window", `${path}.to`, "must be after from");
	if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
		throw invalid(
			"roster.window_too_long",
			`${path}.to`,
			`the window may cover at most ${MAX_WINDOW_DAYS} days (2 years)`,
		);
	}
}

export function createRosterService({ db, clock, members, tenants }: RosterServiceDeps): RosterApi {
	async function validate(
		tenant: TenantRef,
		input: store.RosterFields & { layers: store.LayerInput[] },
	): Promise<void> {
		if (!isValidZone(input.timeZone)) {
			throw invalid("roster.invalid_time_zone", "body.timeZone", `"${input.timeZone}" is not an IANA time zone`);
		}
		input.layers.forEach((layer, i) => {
			const path = `body.layers.${i}`;
			if (layer.timeZone !== null && !isValidZone(layer.timeZone)) {
				throw invalid("roster.invalid_time_zone", `${path}.timeZone`, `"${layer.timeZone}" is not an IANA time zone`);
			}
			if (!parseWallClock(layer.handoffTime)) {
				throw invalid(
					"roster.invalid_handoff",
					`${path}.handoffTime`,
					`"${layer.handoffTime}" is not a time of day HH:MM`,
				);
			}
			const { unit, count } = layer.shiftLength;
			if (!Number.isInteger(count) || count < 1 || count > MAX_SHIFT[unit]) {
				throw invalid(
					"roster.invalid_shift_length",
					`${path}.shiftLength.count`,
					`must be a whole number of ${unit} from 1 to ${MAX_SHIFT[unit]} (at most a year)`,
				);
			}
			layer.restrictions.forEach((r, j) => {
				for (const edge of ["start", "end"] as const) {
					if (!parseWallClock(r[edge], { allowEndOfDay: edge === "end" })) {
						throw invalid(
							"roster.invalid_restriction",
							`${path}.restrictions.${j}.${edge}`,
							`"${r[edge]}" is not a time of day HH:MM`,
						);
					}
				}
			});
		});
		input.layers.forEach((layer, i) => {
			const backwards = (layer.calendar ?? []).findIndex((s) => s.end.getTime() <= s.start.getTime());
			if (backwards >= 0)
				throw invalid("roster.invalid_shift", `body.layers.${i}.calendar.${backwards}.end`, "must be after start");
		});
		const named = (l: store.LayerInput) => [...l.participants, ...(l.calendar ?? []).map((s) => s.memberId)];
		const ids = [...new Set(input.layers.flatMap(named))];
		const known = new Set((await members.findMany(tenant, ids)).map((m) => m.id));
		input.layers.forEach((layer, i) => {
			const unknown = [...new Set(named(layer))].filter((p) => !known.has(p));
			if (unknown.length > 0) {
				throw new AppError("unprocessable", "roster.unknown_member", `No member ${unknown.join(", ")} in this tenant`, {
					fields: [{ path: `body.layers.${i}.participants`, message: `${unknown.join(", ")} is not a member` }],
				});
			}
		});
	}

	async function getRoster(tenant: TenantRef, id: string): Promise<store.RosterRecord> {
		const roster = await store.findRoster(db, tenant.schema, id);
		if (!roster) throw notFound(id);
		return roster;
	}

	/** The roster with the overrides that can matter within [from, to). */
	async function specFor(tenant: TenantRef, id: string, from: Date, to: Date): Promise<RosterSpec> {
		const roster = await getRoster(tenant, id);
		const overrides = await store.listOverrides(db, tenant.schema, id, from, to);
		return { timeZone: roster.timeZone, layers: roster.layers, overrides };
	}

	/** Around an instant: enough to find the piece containing it and the next one. */
	const around = (at: Date) => ({
		from: new Date(at.getTime() - 46 * DAY_MS),
		to: new Date(at.getTime() + 91 * DAY_MS),
	});

	/** Runs a roster write in a transaction; a duplicate name becomes a 409. */
	async function inTransaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
		try {
			return await db.transaction().execute(work);
		} catch (error) {
			throw mapPgError(error, nameTaken);
		}
	}

	const auditView = (input: store.RosterFields & { layers: store.LayerInput[] }) => ({
		name: input.name,
		timeZone: input.timeZone,
		layers: input.layers.map((l) => ({ name: l.name, participants: l.participants, shiftLength: l.shiftLength })),
	});

	const api: RosterApi = {
		list: (tenant) => store.listRosters(db, tenant.schema),
		get: getRoster,

		async create(tenant, input, actor) {
			await validate(tenant, input);
			const id = await inTransaction(async (trx) => {
				const id = await store.insertRoster(trx, tenant.schema, input, clock.now());
				await store.replaceLayers(trx, tenant.schema, id, input.layers);
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.create",
					targetType: "roster",
					targetId: id,
					after: auditView(input),
				});
				return id;
			});
			return getRoster(tenant, id);
		},

		async update(tenant, id, version, input, actor) {
			await getRoster(tenant, id);
			await validate(tenant, input);
			await inTransaction(async (trx) => {
				const before = await store.findRoster(trx, tenant.schema, id);
				if (!before) throw notFound(id);
				if (!(await store.updateRoster(trx, tenant.schema, id, version, input, clock.now()))) {
					throw new AppError(
						"conflict",
						"roster.version_conflict",
						`Roster ${id} is at version ${before.version}, not ${version}: reload it and apply your change again`,
					);
				}
				await store.replaceLayers(trx, tenant.schema, id, input.layers);
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.update",
					targetType: "roster",
					targetId: id,
					before: auditView(before),
					after: auditView(input),
				});
			});
			return getRoster(tenant, id);
		},

		async remove(tenant, id, actor) {
			await db.transaction().execute(async (trx) => {
				const before = await store.findRoster(trx, tenant.schema, id);
				if (!before || !(await store.deleteRoster(trx, tenant.schema, id))) throw notFound(id);
				await store.deleteFeeds(trx, tenant.id, id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.delete",
					targetType: "roster",
					targetId: id,
					before: auditView(before),
				});
			});
		},

		async getCurrentOnCall(tenant, id, at) {
			const { from, to } = around(at);
			return onCallAt(await specFor(tenant, id, from, to), at);
		},

		async getNextOnCall(tenant, id, at) {
			const { from, to } = around(at);
			return nextOnCall(await specFor(tenant, id, from, to), at);
		},

		async shifts(tenant, id, from, to) {
			checkWindow(from, to);
			return timeline(await specFor(tenant, id, from, to), from, to);
		},

		async gaps(tenant, id, from, to) {
			checkWindow(from, to);
			return gaps(await specFor(tenant, id, from, to), from, to);
		},

		async overrides(tenant, id, from, to) {
			await getRoster(tenant, id);
			return store.listOverrides(db, tenant.schema, id, from, to);
		},

		async addOverride(tenant, id, override, actor) {
			if (override.until.getTime() <= override.from.getTime()) {
				throw invalid("roster.invalid_override", "body.until", "must be after from");
			}
			if (override.until.getTime() - override.from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
				throw invalid("roster.invalid_override", "body.until", `an override may last at most ${MAX_WINDOW_DAYS} days`);
			}
			await getRoster(tenant, id);
			const [member] = await members.findMany(tenant, [override.memberId]);
			if (!member) {
				throw new AppError("unprocessable", "roster.unknown_member", `No member ${override.memberId} in this tenant`, {
					fields: [{ path: "body.memberId", message: "is not a member" }],
				});
			}
			return db.transaction().execute(async (trx) => {
				const created = await store.insertOverride(trx, tenant.schema, id, override, actorName(actor));
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.override.create",
					targetType: "roster",
					targetId: id,
					after: { overrideId: created.id, memberId: created.memberId, from: created.from, until: created.until },
				});
				return created;
			});
		},

		async removeOverride(tenant, id, overrideId, actor) {
			await db.transaction().execute(async (trx) => {
				const removed = await store.deleteOverride(trx, tenant.schema, id, overrideId);
				if (!removed) {
					throw new AppError("not_found", "roster.override_not_found", `Roster ${id} has no override ${overrideId}`);
				}
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.override.delete",
					targetType: "roster",
					targetId: id,
					before: { overrideId, memberId: removed.memberId, from: removed.from, until: removed.until },
				});
			});
		},

		async exportCalendar(tenant, id, from, to) {
			checkWindow(from, to);
			const roster = await getRoster(tenant, id);
			// A shift under way as the window opens keeps its real start: event UIDs derive from it,
			// and a feed re-fetched an hour later must not see a "new" event.
			const since = new Date(from.getTime() - 45 * DAY_MS);
			const shifts = timeline(await specFor(tenant, id, since, to), since, to).filter((s) => s.end > from);
			const people = await members.findMany(tenant, [...new Set(shifts.map((s) => s.memberId))]);
			// The iCalendar libraries load on first use: most processes never export, and memory is bounded.
			const { rosterCalendar } = await import("./ical.ts");
			return rosterCalendar(roster, shifts, new Map(people.map((p) => [p.id, p])));
		},

		async createFeed(tenant, id, actor) {
			await getRoster(tenant, id);
			const token = `owcal_${randomBytes(32).toString("base64url")}`;
			await db.transaction().execute(async (trx) => {
				await store.deleteFeeds(trx, tenant.id, id);
				await store.insertFeed(trx, hashToken(token), tenant.id, id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "roster.feed.create",
					targetType: "roster",
					targetId: id,
				});
			});
			return token;
		},

		async feedCalendar(token) {
			const feed = await store.findFeed(db, hashToken(token));
			const tenant = feed && (await tenants.findTenantById(feed.tenantId));
			if (!feed || !tenant) {
				throw new AppError("not_found", "roster.feed_not_found", "This calendar feed does not exist or was replaced");
			}
			const from = clock.now();
			return api.exportCalendar(tenant, feed.rosterId, from, new Date(from.getTime() + DEFAULT_EXPORT_DAYS * DAY_MS));
		},

		async importLayer(tenant, id, input, actor) {
			const roster = await getRoster(tenant, id);
			const text = input.ics ?? (input.url ? await fetchCalendar(input.url) : undefined);
			if (text === undefined) {
				throw new AppError("validation", "roster.import_empty", "Send the calendar as `ics`, or its address as `url`", {
					fields: [{ path: "body.ics", message: "ics or url is required" }],
				});
			}
			const now = clock.now();
			const { parseCalendar } = await import("./ical-import.ts");
			const events = parseCalendar(
				text,
				new Date(now.getTime() - 30 * DAY_MS),
				new Date(now.getTime() + MAX_WINDOW_DAYS * DAY_MS),
			);
			if (events.length === 0) {
				throw new AppError("unprocessable", "roster.import_no_events", "The calendar has no events in the window", {
					fields: [{ path: "body.ics", message: "no events from 30 days ago to two years ahead" }],
				});
			}
			const people = await members.list(tenant);
			const whose = (event: ImportedEvent) => {
				const summary = event.summary.toLowerCase();
				return (
					people.find((p) => p.id === event.memberId) ??
					people.find((p) => event.emails.includes(p.email.toLowerCase())) ??
					people.find((p) => summary.includes(p.email.toLowerCase())) ??
					// The longest matching name, so "Ann Lee" wins over "Ann".
					people.filter((p) => summary.includes(p.name.toLowerCase())).sort((a, b) => b.name.length - a.name.length)[0]
				);
			};
			const calendar = events.map((event) => ({ event, member: whose(event) }));
			const unmatched = calendar.filter((c) => !c.member).map((c) => c.event.summary || c.event.start.toISOString());
			if (unmatched.length > 0) {
				const shown = [...new Set(unmatched)]
					.slice(0, 5)
					.map((s) => `"${s}"`)
					.join(", ");
				throw new AppError(
					"unprocessable",
					"roster.import_unknown_member",
					`${unmatched.length} event(s) name no member of this tenant, e.g. ${shown}: add the people as members, with the address their calendar uses`,
					{ fields: [{ path: "body.ics", message: `${unmatched.length} event(s) name no member` }] },
				);
			}
			const shifts = calendar.map(({ event, member }) => ({
				memberId: member!.id,
				start: event.start,
				end: event.end,
			}));
			const layers: store.LayerInput[] = [
				...roster.layers.map(({ id: _, ...layer }) => layer),
				{
					name: input.name,
					position: Math.max(0, ...roster.layers.map((l) => l.position)) + 1,
					participants: [...new Set(shifts.map((s) => s.memberId))],
					// A calendar layer does not rotate; these only satisfy the shape.
					shiftLength: { unit: "days", count: 1 },
					handoffTime: "00:00",
					timeZone: null,
					start: shifts[0]!.start,
					restrictions: [],
					calendar: shifts,
				},
			];
			return api.update(tenant, id, roster.version, { ...roster, layers }, actor);
		},

		async handoffs(tenant, id, limit) {
			await getRoster(tenant, id);
			return store.listHandoffs(db, tenant.schema, id, limit);
		},

		async recordHandoffs(tenant, from, to) {
			const recorded: RecordedHandoff[] = [];
			for (const roster of await store.listRosters(db, tenant.schema)) {
				const overrides = await store.listOverrides(
					db,
					tenant.schema,
					roster.id,
					new Date(from.getTime() - DAY_MS),
					to,
				);
				const spec = { timeZone: roster.timeZone, layers: roster.layers, overrides };
				for (const handoff of handoffsBetween(spec, from, to)) {
					if (await store.insertHandoff(db, tenant.schema, roster.id, handoff)) {
						recorded.push({ ...handoff, rosterId: roster.id, rosterName: roster.name });
					}
				}
			}
			return recorded;
		},

		memberUsage: async (tenant, memberId) => {
			const roster = await store.rosterUsingMember(db, tenant.schema, memberId, clock.now());
			return roster ? `they take part in roster "${roster}"` : undefined;
		},
	};
	return api;
}
