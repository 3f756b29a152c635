import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, type TenantRef, tenantPrincipal } from "../tenant/index.ts";
import { shiftsInZone } from "./schedule.ts";
import { DEFAULT_EXPORT_DAYS, type RosterApi, type RosterRecord } from "./service.ts";
import { DAY_MS } from "./timezone.ts";
import type { Gap, OnCall, Shift } from "./types.ts";

export interface RosterRoutesOptions {
	rosters: RosterApi;
	/** Each member's own zone, to show their shifts in it. */
	memberZones: (tenant: TenantRef, ids: string[]) => Promise<Map<string, string>>;
	/** Now, for defaults ("on call now", the next 90 days). */
	now: () => Date;
}

const dateTime = z.string().meta({ format: "date-time" });
/** An instant in ISO 8601 with an offset or Z, e.g. 2026-03-29T09:00:00+02:00. */
const instant = z.iso
	.datetime({ offset: true, message: "must be an ISO 8601 date-time with an offset, e.g. 2026-03-29T09:00:00+02:00" })
	.transform((s) => new Date(s));
const hhmm = z.string().max(5).meta({ description: "Wall-clock time HH:MM" });
const weekday = z.enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);

const layerInput = z
	.object({
		name: z.string().trim().min(1).max(200),
		participants: z.array(z.uuid()).min(1, "a layer needs at least one participant").max(200),
		shiftLength: z.object({ unit: z.enum(["hours", "days", "weeks"]), count: z.number().int() }).strict(),
		handoffTime: hhmm,
		timeZone: z.string().max(64).nullable().default(null).meta({ description: "Defaults to the roster's zone" }),
		start: instant.meta({ description: "The rotation starts at the first handoff at or after this instant" }),
		restrictions: z
			.array(z.object({ days: z.array(weekday).min(1), start: hhmm, end: hhmm }).strict())
			.max(50)
			.default([])
			.meta({ description: "Weekly windows the layer covers (empty: always); end ≤ start runs past midnight" }),
		calendar: z
			.array(z.object({ memberId: z.uuid(), start: instant, end: instant }).strict())
			.max(10_000)
			.nullable()
			.default(null)
			.meta({ description: "A calendar layer's explicit shifts (set by an import); null for a rotation" }),
	})
	.strict();

const rosterInput = z
	.object({
		name: z.string().trim().min(1).max(200),
		description: z.string().max(2000).default(""),
		timeZone: z.string().max(64).meta({ description: "IANA zone, e.g. Europe/Berlin" }),
		layers: z
			.array(layerInput)
			.max(20)
			.default([])
			.meta({ description: "Bottom to top: where layers overlap, the later one wins" }),
	})
	.strict();

const layerDto = z.object({
	id: z.uuid(),
	name: z.string(),
	position: z.number().int(),
	participants: z.array(z.uuid()),
	shiftLength: z.object({ unit: z.enum(["hours", "days", "weeks"]), count: z.number().int() }),
	handoffTime: z.string(),
	timeZone: z.string().nullable(),
	start: dateTime,
	restrictions: z.array(z.object({ days: z.array(weekday), start: z.string(), end: z.string() })),
	calendar: z.array(z.object({ memberId: z.uuid(), start: dateTime, end: dateTime })).nullable(),
});

const rosterDto = z
	.object({
		id: z.uuid(),
		name: z.string(),
		description: z.string(),
		timeZone: z.string(),
		version: z.number().int(),
		createdAt: dateTime,
		updatedAt: dateTime,
		layers: z.array(layerDto),
	})
	.meta({ id: "Roster" });

const sourceDto = z.union([
	z.object({ kind: z.literal("layer"), layerId: z.uuid(), layerName: z.string() }),
	z.object({ kind: z.literal("override"), overrideId: z.uuid() }),
]);

const onCallDto = z
	.object({ memberId: z.uuid(), source: sourceDto, shiftStart: dateTime, shiftEnd: dateTime })
	.meta({ id: "OnCall" });

const shiftDto = z.object({
	memberId: z.uuid(),
	start: dateTime,
	end: dateTime,
	source: sourceDto,
	/** The same shift in the roster's zone, for people reading it. */
	local: z.object({ start: z.string(), end: z.string(), timeZone: z.string() }),
	/** And in the on-call person's own zone. */
	memberLocal: z.object({ start: z.string(), end: z.string(), timeZone: z.string() }).nullable(),
});

const overrideDto = z
	.object({
		id: z.uuid(),
		memberId: z.uuid(),
		from: dateTime,
		until: dateTime,
		createdBy: z.string(),
		createdAt: dateTime,
	})
	.meta({ id: "RosterOverride" });

const toRosterDto = (r: RosterRecord) => ({
	...r,
	createdAt: r.createdAt.toISOString(),
	updatedAt: r.updatedAt.toISOString(),
	layers: r.layers.map((l) => ({
		...l,
		start: l.start.toISOString(),
		calendar: l.calendar?.map((s) => ({ ...s, start: s.start.toISOString(), end: s.end.toISOString() })) ?? null,
	})),
});
const toOnCallDto = (o: OnCall) => ({
	...o,
	shiftStart: o.shiftStart.toISOString(),
	shiftEnd: o.shiftEnd.toISOString(),
});
const toShiftDto = (s: Shift, zone: string, memberZone: string | undefined) => ({
	...s,
	start: s.start.toISOString(),
	end: s.end.toISOString(),
	local: { ...shiftsInZone(s, zone), timeZone: zone },
	memberLocal: memberZone ? { ...shiftsInZone(s, memberZone), timeZone: memberZone } : null,
});
const toGapDto = (g: Gap) => ({ start: g.start.toISOString(), end: g.end.toISOString() });

/** Layers arrive bottom to top; their position is their place in the list. */
const withPositions = (layers: z.infer<typeof layerInput>[]) => layers.map((l, i) => ({ ...l, position: i + 1 }));

function sendCalendar(reply: FastifyReply, body: string, filename: string) {
	return reply
		.header("content-type", "text/calendar; charset=utf-8")
		.header("content-disposition", `inline; filename="${filename}"`)
		.serializer((payload: unknown) => payload as string)
		.send(body as never);
}

/** On-call rosters (spec §8.1 Rosters), plus shifts, gaps and calendar feeds. */
export const rosterRoutes: FastifyPluginAsyncZod<RosterRoutesOptions> = async (app, { rosters, memberZones, now }) => {
	const tags = ["rosters"];
	const read = { auth: { permission: "rosters.read" as const } };
	const manage = { auth: { permission: "rosters.manage" as const } };
	const params = z.object({ id: z.uuid() });
	const window = (days: number) =>
		z
			.object({ from: instant.optional(), to: instant.optional(), member: z.uuid().optional() })
			.strict()
			.transform((q) => {
				const from = q.from ?? now();
				return { from, to: q.to ?? new Date(from.getTime() + days * DAY_MS), member: q.member };
			});

	app.get(
		"/api/v1/rosters",
		{
			config: read,
			schema: { tags, summary: "List rosters", response: { 200: z.object({ rosters: z.array(rosterDto) }) } },
		},
		async (request) => ({ rosters: (await rosters.list(tenantPrincipal(request).tenant)).map(toRosterDto) }),
	);

	app.post(
		"/api/v1/rosters",
		{
			config: manage,
			schema: {
				tags,
				summary: "Create a roster with its layers",
				body: rosterInput,
				response: { 201: z.object({ roster: rosterDto }) },
			},
		},
		async (request, reply) => {
			const { layers, ...fields } = request.body;
			const roster = await rosters.create(
				tenantPrincipal(request).tenant,
				{ ...fields, layers: withPositions(layers) },
				actorOf(request),
			);
			return reply.status(201).send({ roster: toRosterDto(roster) });
		},
	);

	app.get(
		"/api/v1/rosters/:id",
		{
			config: read,
			schema: { tags, summary: "A roster and its layers", params, response: { 200: z.object({ roster: rosterDto }) } },
		},
		async (request) => ({ roster: toRosterDto(await rosters.get(tenantPrincipal(request).tenant, request.params.id)) }),
	);

	app.put(
		"/api/v1/rosters/:id",
		{
			config: manage,
			schema: {
				tags,
				summary: "Replace a roster and its layers; send the version you read (a stale one gets 409)",
				params,
				body: rosterInput.extend({ version: z.number().int().min(1) }).strict(),
				response: { 200: z.object({ roster: rosterDto }) },
			},
		},
		async (request) => {
			const { version, layers, ...fields } = request.body;
			const roster = await rosters.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				{ ...fields, layers: withPositions(layers) },
				actorOf(request),
			);
			return { roster: toRosterDto(roster) };
		},
	);

	app.delete(
		"/api/v1/rosters/:id",
		{
			config: manage,
			schema: {
				tags,
				summary: "Delete a roster",
				params,
				response: { 204: z.null().meta({ description: "Deleted" }) },
			},
		},
		async (request, reply) => {
			await rosters.remove(tenantPrincipal(request).tenant, request.params.id, actorOf(request));
			return reply.status(204).send(null);
		},
	);

	app.get(
		"/api/v1/rosters/:id/oncall",
		{
			config: read,
			schema: {
				tags,
				summary: "Who is on call now, or at `at`: from which layer or override, and the shift's start and end",
				params,
				querystring: z.object({ at: instant.optional() }).strict(),
				response: { 200: z.object({ at: dateTime, onCall: onCallDto.nullable(), next: onCallDto.nullable() }) },
			},
		},
		async (request) => {
			const tenant = tenantPrincipal(request).tenant;
			const at = request.query.at ?? now();
			const [current, next] = await Promise.all([
				rosters.getCurrentOnCall(tenant, request.params.id, at),
				rosters.getNextOnCall(tenant, request.params.id, at),
			]);
			return {
				at: at.toISOString(),
				onCall: current ? toOnCallDto(current) : null,
				next: next ? toOnCallDto(next) : null,
			};
		},
	);

	app.get(
		"/api/v1/rosters/:id/shifts",
		{
			config: read,
			schema: {
				tags,
				summary: "The computed timeline over [from, to) (default: the next 7 days), optionally for one member",
				params,
				querystring: window(7),
				response: { 200: z.object({ shifts: z.array(shiftDto) }) },
			},
		},
		async (request) => {
			const tenant = tenantPrincipal(request).tenant;
			const { from, to, member } = request.query;
			const [roster, shifts] = await Promise.all([
				rosters.get(tenant, request.params.id),
				rosters.shifts(tenant, request.params.id, from, to),
			]);
			const mine = member ? shifts.filter((s) => s.memberId === member) : shifts;
			const zones = await memberZones(tenant, [...new Set(mine.map((s) => s.memberId))]);
			return { shifts: mine.map((s) => toShiftDto(s, roster.timeZone, zones.get(s.memberId))) };
		},
	);

	app.get(
		"/api/v1/rosters/:id/gaps",
		{
			config: read,
			schema: {
				tags,
				summary: "When nobody is on call within [from, to) (default: the next 30 days)",
				params,
				querystring: window(30),
				response: { 200: z.object({ gaps: z.array(z.object({ start: dateTime, end: dateTime })) }) },
			},
		},
		async (request) => {
			const { from, to } = request.query;
			const found = await rosters.gaps(tenantPrincipal(request).tenant, request.params.id, from, to);
			return { gaps: found.map(toGapDto) };
		},
	);

	app.get(
		"/api/v1/rosters/:id/overrides",
		{
			config: read,
			schema: {
				tags,
				summary: "Overrides within [from, to) (default: the next 30 days)",
				params,
				querystring: window(30),
				response: { 200: z.object({ overrides: z.array(overrideDto) }) },
			},
		},
		async (request) => {
			const { from, to } = request.query;
			const list = await rosters.overrides(tenantPrincipal(request).tenant, request.params.id, from, to);
			return {
				overrides: list.map((o) => ({
					...o,
					from: o.from.toISOString(),
					until: o.until.toISOString(),
					createdAt: o.createdAt.toISOString(),
				})),
			};
		},
	);

	app.post(
		"/api/v1/rosters/:id/overrides",
		{
			config: { auth: { permission: "rosters.override" } },
			schema: {
				tags,
				summary: "Put someone on call from .. until, above every layer",
				params,
				body: z.object({ memberId: z.uuid(), from: instant, until: instant }).strict(),
				response: { 201: z.object({ override: overrideDto }) },
			},
		},
		async (request, reply) => {
			const o = await rosters.addOverride(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.body,
				actorOf(request),
			);
			return reply.status(201).send({
				override: {
					...o,
					from: o.from.toISOString(),
					until: o.until.toISOString(),
					createdAt: o.createdAt.toISOString(),
				},
			});
		},
	);

	app.delete(
		"/api/v1/rosters/:id/overrides/:oid",
		{
			config: { auth: { permission: "rosters.override" } },
			schema: {
				tags,
				summary: "Remove an override",
				params: z.object({ id: z.uuid(), oid: z.uuid() }),
				response: { 204: z.null().meta({ description: "Removed" }) },
			},
		},
		async (request, reply) => {
			await rosters.removeOverride(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.params.oid,
				actorOf(request),
			);
			return reply.status(204).send(null);
		},
	);

	app.get(
		"/api/v1/rosters/:id/export.ics",
		{
			config: read,
			schema: {
				tags,
				summary: `The shifts as an iCalendar file (RFC 5545) over [from, to) (default: the next ${DEFAULT_EXPORT_DAYS} days)`,
				params,
				querystring: window(DEFAULT_EXPORT_DAYS),
			},
		},
		async (request, reply) => {
			const { from, to } = request.query;
			const body = await rosters.exportCalendar(tenantPrincipal(request).tenant, request.params.id, from, to);
			return sendCalendar(reply, body, "roster.ics");
		},
	);

	app.post(
		"/api/v1/rosters/:id/feed",
		{
			config: manage,
			schema: {
				tags,
				summary: "A secret calendar-feed URL for calendar clients (replaces the previous one)",
				params,
				response: {
					201: z.object({
						url: z.string().meta({ description: "Subscribe to this in a calendar client; it is the credential" }),
					}),
				},
			},
		},
		async (request, reply) => {
			const token = await rosters.createFeed(tenantPrincipal(request).tenant, request.params.id, actorOf(request));
			return reply.status(201).send({ url: `/api/v1/calendars/${token}.ics` });
		},
	);

	app.get(
		"/api/v1/calendars/:file",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "A roster's calendar feed; the secret in the URL is the credential",
				params: z.object({ file: z.string().max(100) }),
			},
		},
		async (request, reply) => {
			const body = await rosters.feedCalendar(request.params.file.replace(/\.ics$/, ""));
			return sendCalendar(reply, body, "roster.ics");
		},
	);

	app.post(
		"/api/v1/rosters/:id/import",
		{
			config: manage,
			schema: {
				tags,
				summary: "Add a layer on top from an iCalendar file or feed (e.g. an on-call calendar in Google or Outlook)",
				description:
					"Each event becomes a shift of the member it names: an attendee's or organizer's address, or the member's name or address in the summary.",
				params,
				body: z
					.object({
						name: z.string().trim().min(1).max(200).meta({ description: "The new layer's name" }),
						ics: z
							.string()
							.max(5 * 1024 * 1024)
							.optional()
							.meta({ description: "The calendar itself" }),
						url: z
							.url({ protocol: /^https?$/, message: "must be an http(s) URL" })
							.max(2000)
							.optional()
							.meta({ description: "Or where to fetch it" }),
					})
					.strict(),
				response: { 200: z.object({ roster: rosterDto }) },
			},
		},
		async (request) => {
			const roster = await rosters.importLayer(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.body,
				actorOf(request),
			);
			return { roster: toRosterDto(roster) };
		},
	);

	app.get(
		"/api/v1/rosters/:id/handoffs",
		{
			config: read,
			schema: {
				tags,
				summary: "Handoffs announced by the worker, newest first",
				params,
				querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
				response: {
					200: z.object({
						handoffs: z.array(
							z.object({
								at: dateTime,
								incomingMemberId: z.uuid().nullable(),
								outgoingMemberId: z.uuid().nullable(),
								shiftEnd: dateTime.nullable(),
							}),
						),
					}),
				},
			},
		},
		async (request) => {
			const list = await rosters.handoffs(tenantPrincipal(request).tenant, request.params.id, request.query.limit);
			return {
				handoffs: list.map((h) => ({ ...h, at: h.at.toISOString(), shiftEnd: h.shiftEnd?.toISOString() ?? null })),
			};
		},
	);
};
