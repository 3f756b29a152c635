// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import ical from "node-ical";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandoffJob } from "../../src/roster/index.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let manager: string;
let engineer: string;
let readonly: string;
let alice: any;
let bob: any;
let carol: any;

const call = (method: string, path: string, json?: unknown, key = manager) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("oncall");
	other = await app.newTenant("oncallother");
	manager = await tenant.keyFor("manager");
	engineer = await tenant.keyFor("engineer");
	readonly = await tenant.keyFor("readonly");
	const member = async (name: string, timeZone: string) =>
		(
			await call("POST", "/api/v1/members", {
				name,
				email: `${name.toLowerCase()}@example.com`,
				timeZone,
				contactMethods: [
					{ type: "slack", value: "U024BE7LH" },
					{ type: "phone", value: "+41441234567" },
				],
			})
		).body.member;
	alice = await member("Alice", "Europe/Berlin");
	bob = await member("Bob", "America/New_York");
	carol = await member("Carol", "Australia/Sydney");
});
afterAll(() => app?.close());

/** Weekly rotation Alice → Bob, handoff Mondays 09:00 Berlin, starting Monday 2026-11-02. */
const weekly = () => ({
	name: "Platform",
	timeZone: "Europe/Berlin",
	layers: [
		{
			name: "Weekly",
			participants: [alice.id, bob.id],
			shiftLength: { unit: "weeks", count: 1 },
			handoffTime: "09:00",
			start: "2026-11-02T09:00:00+01:00",
		},
	],
});
const rosterCount = async () => (await call("GET", "/api/v1/rosters")).body.rosters.length;

describe(`members (${backendName})`, () => {
	it("stores contact methods in order and refuses bad ones, naming the field", async () => {
		expect(alice.contactMethods.map((c: any) => c.type)).toEqual(["slack", "phone"]);
		const cases: [object, string][] = [
			[{ name: "X", email: "x@example.com", timeZone: "Mars/Olympus" }, "timeZone"],
			[{ name: "X", email: "not-an-address", timeZone: "UTC" }, "email"],
			[
				{
					name: "X",
					email: "x@example.com",
					timeZone: "UTC",
					contactMethods: [{ type: "phone", value: "0791234567" }],
				},
				"value",
			],
			[{ name: "X", email: "x@example.com", timeZone: "UTC", contactMethods: [{ type: "pager", value: "1" }] }, "type"],
			[
				{
					name: "X",
					email: "x@example.com",
					timeZone: "UTC",
					notificationRules: [{ channel: "sms", afterMinutes: 500 }],
				},
				"notificationRules.0.afterMinutes",
			],
			[
				{
					name: "X",
					email: "x@example.com",
					timeZone: "UTC",
					notificationRules: [{ channel: "fax", afterMinutes: 1 }],
				},
				"notificationRules.0.channel",
			],
			[
				{
					name: "X",
					email: "x@example.com",
					timeZone: "UTC",
					notificationRules: [
						{ channel: "sms", afterMinutes: 1 },
						{ channel: "sms", afterMinutes: 5 },
					],
				},
				"each channel at most once",
			],
		];
		const before = (await call("GET", "/api/v1/members")).body.members.length;
		for (const [body, field] of cases) {
			const response = await call("POST", "/api/v1/members", body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(JSON.stringify(response.body.error), JSON.stringify(body)).toContain(field);
		}
		const duplicate = await call("POST", "/api/v1/members", {
			name: "A2",
			email: "alice@example.com",
			timeZone: "UTC",
		});
		expect(duplicate.status).toBe(409);
		expect(duplicate.body.error.code).toBe("member.email_taken");
		expect((await call("GET", "/api/v1/members")).body.members.length).toBe(before);
	});

	it("lets only admins and managers change members, and keeps tenants apart", async () => {
		const denied = await call(
			"POST",
			"/api/v1/members",
			{ name: "E", email: "e@example.com", timeZone: "UTC" },
			engineer,
		);
		expect(denied.status).toBe(403);
		expect((await call("GET", `/api/v1/members/${alice.id}`, undefined, readonly)).status).toBe(200);
		expect((await call("GET", `/api/v1/members/${alice.id}`, undefined, other.adminKey)).status).toBe(404);
	});
});

describe(`rosters (${backendName})`, () => {
	let roster: any;
	beforeAll(async () => {
		const created = await call("POST", "/api/v1/rosters", weekly());
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		roster = created.body.roster;
	});

	it("answers who is on call at an instant, from which layer, with the shift's bounds", async () => {
		const at = (iso: string) =>
			call("GET", `/api/v1/rosters/${roster.id}/oncall?at=${encodeURIComponent(iso)}`, undefined, readonly);
		const first = (await at("2026-11-03T12:00:00Z")).body;
		expect(first.onCall).toMatchObject({
			memberId: alice.id,
			source: { kind: "layer", layerName: "Weekly" },
			shiftStart: "2026-11-02T08:00:00.000Z",
			shiftEnd: "2026-11-09T08:00:00.000Z",
		});
		expect(first.next).toMatchObject({ memberId: bob.id, shiftStart: "2026-11-09T08:00:00.000Z" });
		expect((await at("2026-11-10T12:00:00+01:00")).body.onCall.memberId).toBe(bob.id);
		expect((await at("2026-11-16T08:59:00+01:00")).body.onCall.memberId).toBe(bob.id);
		expect((await at("2026-11-16T09:00:00+01:00")).body.onCall.memberId).toBe(alice.id);
		// Before the rotation starts nobody is on call.
		expect((await at("2026-11-01T12:00:00Z")).body.onCall).toBeNull();
	});

	it("puts an override above the layers until it is removed", async () => {
		const override = await call(
			"POST",
			`/api/v1/rosters/${roster.id}/overrides`,
			{ memberId: carol.id, from: "2026-11-04T18:00:00+01:00", until: "2026-11-05T08:00:00+01:00" },
			engineer,
		);
		expect(override.status).toBe(201);
		const at = "2026-11-04T23:00:00%2B01:00";
		const during = (await call("GET", `/api/v1/rosters/${roster.id}/oncall?at=${at}`)).body.onCall;
		expect(during).toMatchObject({
			memberId: carol.id,
			source: { kind: "override", overrideId: override.body.override.id },
			shiftStart: "2026-11-04T17:00:00.000Z",
			shiftEnd: "2026-11-05T07:00:00.000Z",
		});
		const shifts = (
			await call("GET", `/api/v1/rosters/${roster.id}/shifts?from=2026-11-04T00:00:00Z&to=2026-11-06T00:00:00Z`)
		).body.shifts;
		expect(shifts.map((s: any) => [s.memberId, s.start, s.end])).toEqual([
			[alice.id, "2026-11-04T00:00:00.000Z", "2026-11-04T17:00:00.000Z"],
			[carol.id, "2026-11-04T17:00:00.000Z", "2026-11-05T07:00:00.000Z"],
			[alice.id, "2026-11-05T07:00:00.000Z", "2026-11-06T00:00:00.000Z"],
		]);
		expect(shifts[1].local).toMatchObject({ start: "2026-11-04T18:00:00+01:00", timeZone: "Europe/Berlin" });
		// Carol reads her override in Sydney time, Alice hers in Berlin time.
		expect(shifts[1].memberLocal).toEqual({
			start: "2026-11-05T04:00:00+11:00",
			end: "2026-11-05T18:00:00+11:00",
			timeZone: "Australia/Sydney",
		});
		expect(shifts[0].memberLocal.timeZone).toBe("Europe/Berlin");

		expect(
			(await call("DELETE", `/api/v1/rosters/${roster.id}/overrides/${override.body.override.id}`, undefined, engineer))
				.status,
		).toBe(204);
		expect((await call("GET", `/api/v1/rosters/${roster.id}/oncall?at=${at}`)).body.onCall.memberId).toBe(alice.id);
	});

	it("finds the gaps of a roster that covers only office hours", async () => {
		const office = await call("POST", "/api/v1/rosters", {
			name: "Office hours",
			timeZone: "Europe/Berlin",
			layers: [
				{
					name: "Days",
					participants: [alice.id],
					shiftLength: { unit: "days", count: 1 },
					handoffTime: "08:00",
					start: "2026-11-02T08:00:00+01:00",
					restrictions: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", end: "18:00" }],
				},
			],
		});
		expect(office.status, JSON.stringify(office.body)).toBe(201);
		const gaps = (
			await call(
				"GET",
				`/api/v1/rosters/${office.body.roster.id}/gaps?from=2026-11-02T07:00:00Z&to=2026-11-04T07:00:00Z`,
			)
		).body.gaps;
		expect(gaps).toEqual([
			{ start: "2026-11-02T17:00:00.000Z", end: "2026-11-03T07:00:00.000Z" },
			{ start: "2026-11-03T17:00:00.000Z", end: "2026-11-04T07:00:00.000Z" },
		]);
	});

	it("exports an RFC 5545 calendar with stable UIDs that an independent parser reads", async () => {
		const path = `/api/v1/rosters/${roster.id}/export.ics?from=2026-11-02T00:00:00Z&to=2026-11-30T00:00:00Z`;
		const first = await app.request("GET", path, { key: readonly });
		expect(first.status).toBe(200);
		expect(first.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
		const events = Object.values(ical.sync.parseICS(first.text)).filter((c: any) => c.type === "VEVENT") as any[];
		expect(events.map((e) => [e.summary, new Date(e.start).toISOString(), new Date(e.end).toISOString()])).toEqual([
			["On call: Alice (Platform)", "2026-11-02T08:00:00.000Z", "2026-11-09T08:00:00.000Z"],
			["On call: Bob (Platform)", "2026-11-09T08:00:00.000Z", "2026-11-16T08:00:00.000Z"],
			["On call: Alice (Platform)", "2026-11-16T08:00:00.000Z", "2026-11-23T08:00:00.000Z"],
			["On call: Bob (Platform)", "2026-11-23T08:00:00.000Z", "2026-11-30T00:00:00.000Z"],
		]);
		const again = await app.request("GET", path, { key: readonly });
		const uids = (text: string) =>
			(Object.values(ical.sync.parseICS(text)) as any[]).filter((c) => c.type === "VEVENT").map((e) => e.uid);
		expect(uids(again.text)).toEqual(uids(first.text));
		expect(new Set(uids(first.text)).size).toBe(4);
		// Fetched later (a feed's window starts at "now"), the shift under way keeps its start and UID.
		const later = await app.request("GET", path.replace("from=2026-11-02T00:00:00Z", "from=2026-11-05T13:37:00Z"), {
			key: readonly,
		});
		const ongoing = (Object.values(ical.sync.parseICS(later.text)) as any[]).find((c) => c.type === "VEVENT");
		expect(new Date(ongoing.start).toISOString()).toBe("2026-11-02T08:00:00.000Z");
		expect(ongoing.uid).toBe(uids(first.text)[0]);
	});

	it("serves a calendar feed with the secret URL alone, and stops serving a replaced one", async () => {
		const feed = await call("POST", `/api/v1/rosters/${roster.id}/feed`);
		expect(feed.status).toBe(201);
		const url: string = feed.body.url;
		expect(url).toMatch(/^\/api\/v1\/calendars\/owcal_[A-Za-z0-9_-]+\.ics$/);
		const fetched = await fetch(app.url + url);
		expect(fetched.status).toBe(200);
		expect(await fetched.text()).toContain("BEGIN:VCALENDAR");
		const replaced = await call("POST", `/api/v1/rosters/${roster.id}/feed`);
		expect((await fetch(app.url + url)).status).toBe(404);
		expect((await fetch(app.url + replaced.body.url)).status).toBe(200);
		expect((await fetch(`${app.url}/api/v1/calendars/owcal_guess.ics`)).status).toBe(404);
	});

	it("round-trips its calendar through import, from a file and from a feed URL", async () => {
		const window = "from=2026-11-02T00:00:00Z&to=2026-11-30T00:00:00Z";
		const exported = (await app.request("GET", `/api/v1/rosters/${roster.id}/export.ics?${window}`, { key: readonly }))
			.text;
		const copy = (await call("POST", "/api/v1/rosters", { name: "Copy", timeZone: "America/New_York" })).body.roster;
		const imported = await call("POST", `/api/v1/rosters/${copy.id}/import`, { name: "From Platform", ics: exported });
		expect(imported.status, JSON.stringify(imported.body)).toBe(200);
		expect(imported.body.roster.layers).toHaveLength(1);
		expect(imported.body.roster.layers[0]).toMatchObject({ name: "From Platform", participants: [alice.id, bob.id] });
		const shifts = async (id: string) =>
			(await call("GET", `/api/v1/rosters/${id}/shifts?${window}`)).body.shifts.map((s: any) => [
				s.memberId,
				s.start,
				s.end,
			]);
		expect(await shifts(copy.id)).toEqual(await shifts(roster.id));

		// The same through the feed URL a calendar client would use; the new layer goes on top.
		const feed = (await call("POST", `/api/v1/rosters/${roster.id}/feed`)).body.url;
		const viaUrl = await call("POST", `/api/v1/rosters/${copy.id}/import`, { name: "Feed", url: app.url + feed });
		expect(viaUrl.status, JSON.stringify(viaUrl.body)).toBe(200);
		expect(viaUrl.body.roster.layers.map((l: any) => [l.name, l.position])).toEqual([
			["From Platform", 1],
			["Feed", 2],
		]);
	});

	it("refuses an import that is not iCalendar, names no member, or cannot be fetched, and changes nothing", async () => {
		const target = (await call("POST", "/api/v1/rosters", { name: "Import target", timeZone: "UTC" })).body.roster;
		const notIcs = await call("POST", `/api/v1/rosters/${target.id}/import`, {
			name: "x",
			ics: "<html>calendar</html>",
		});
		expect(notIcs.status).toBe(400);
		expect(notIcs.body.error.code).toBe("roster.not_icalendar");
		const broken = await call("POST", `/api/v1/rosters/${target.id}/import`, {
			name: "x",
			ics: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n",
		});
		expect(broken.status).toBe(400);
		const stranger = [
			"BEGIN:VCALENDAR",
			"VERSION:2.0",
			"PRODID:-//test//EN",
			"BEGIN:VEVENT",
			"UID:1@test",
			"DTSTAMP:20261101T000000Z",
			"DTSTART:20261201T090000Z",
			"DTEND:20261202T090000Z",
			"SUMMARY:On call: Mallory",
			"END:VEVENT",
			"END:VCALENDAR",
		].join("\r\n");
		const unknown = await call("POST", `/api/v1/rosters/${target.id}/import`, { name: "x", ics: stranger });
		expect(unknown.status).toBe(422);
		expect(unknown.body.error.message).toContain("Mallory");
		const byEmail = stranger.replace(
			"SUMMARY:On call: Mallory",
			"SUMMARY:Primary\r\nATTENDEE;CN=Carol:mailto:Carol@Example.com",
		);
		const weekly = await call("POST", `/api/v1/rosters/${target.id}/import`, {
			name: "Recurring",
			ics: byEmail.replace("DTEND:20261202T090000Z", "DTEND:20261202T090000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3"),
		});
		expect(weekly.status, JSON.stringify(weekly.body)).toBe(200);
		expect(weekly.body.roster.layers[0].calendar.map((s: any) => [s.memberId, s.start])).toEqual([
			[carol.id, "2026-12-01T09:00:00.000Z"],
			[carol.id, "2026-12-08T09:00:00.000Z"],
			[carol.id, "2026-12-15T09:00:00.000Z"],
		]);
		const unreachable = await call("POST", `/api/v1/rosters/${target.id}/import`, {
			name: "x",
			url: "http://127.0.0.1:9/calendar.ics",
		});
		expect(unreachable.status).toBe(422);
		expect(unreachable.body.error.code).toBe("roster.calendar_unreachable");
		const after = (await call("GET", `/api/v1/rosters/${target.id}`)).body.roster;
		expect(after.layers.map((l: any) => l.name)).toEqual(["Recurring"]);
	});

	it("records each handoff once, however many workers look, and lists them", async () => {
		expect(app.running.worker?.jobs).toContain("roster-handoffs");
		const announced: any[] = [];
		const worker = () =>
			createHandoffJob({
				tenants: app.running.container.tenants,
				rosters: app.running.container.rosters,
				clock: app.running.container.clock,
				notifier: { announce: async (t, handoff) => void announced.push({ tenant: t.slug, ...handoff }) },
				onError: (error) => {
					throw error;
				},
				intervalMs: 3_600_000,
			});
		const at = new Date("2026-11-09T08:30:00Z");
		const [first, second] = await Promise.all([worker().runOnce(at), worker().runOnce(at)]);
		const mine = [...first, ...second].filter((h) => h.rosterId === roster.id);
		expect(mine.map((h) => [h.at.toISOString(), h.outgoingMemberId, h.incomingMemberId])).toEqual([
			["2026-11-09T08:00:00.000Z", alice.id, bob.id],
		]);
		expect(mine[0]!.shiftEnd?.toISOString()).toBe("2026-11-16T08:00:00.000Z");
		expect(announced.filter((a) => a.rosterId === roster.id)).toHaveLength(1);
		expect(await worker().runOnce(at)).toEqual([]);
		const listed = (await call("GET", `/api/v1/rosters/${roster.id}/handoffs`, undefined, readonly)).body.handoffs;
		expect(listed).toContainEqual({
			at: "2026-11-09T08:00:00.000Z",
			incomingMemberId: bob.id,
			outgoingMemberId: alice.id,
			shiftEnd: "2026-11-16T08:00:00.000Z",
		});
		expect((await call("GET", `/api/v1/rosters/${roster.id}/handoffs`, undefined, other.adminKey)).status).toBe(404);
	});

	it("refuses bad rosters with a 4xx naming the field, and writes nothing", async () => {
		const before = await rosterCount();
		const layer = weekly().layers[0]!;
		const cases: [object, number, string][] = [
			[{ ...weekly(), name: "z1", timeZone: "Europe/Atlantis" }, 400, "timeZone"],
			[{ ...weekly(), name: "z2", layers: [{ ...layer, timeZone: "Nowhere/Town" }] }, 400, "layers.0.timeZone"],
			[{ ...weekly(), name: "z3", layers: [{ ...layer, handoffTime: "25:00" }] }, 400, "handoffTime"],
			[{ ...weekly(), name: "z4", layers: [{ ...layer, shiftLength: { unit: "days", count: 0 } }] }, 400, "count"],
			[{ ...weekly(), name: "z5", layers: [{ ...layer, shiftLength: { unit: "hours", count: -4 } }] }, 400, "count"],
			[{ ...weekly(), name: "z6", layers: [{ ...layer, shiftLength: { unit: "weeks", count: 60 } }] }, 400, "count"],
			[{ ...weekly(), name: "z7", layers: [{ ...layer, participants: [] }] }, 400, "participants"],
			[
				{ ...weekly(), name: "z8", layers: [{ ...layer, participants: ["00000000-0000-4000-8000-000000000000"] }] },
				422,
				"participants",
			],
			[{ ...weekly(), name: "z9", layers: [{ ...layer, start: "next monday" }] }, 400, "start"],
		];
		for (const [body, status, field] of cases) {
			const response = await call("POST", "/api/v1/rosters", body);
			expect(response.status, JSON.stringify(body)).toBe(status);
			expect(JSON.stringify(response.body.error), JSON.stringify(body)).toContain(field);
		}
		// Another tenant's member is not a member here.
		const stranger = (
			await call("POST", "/api/v1/members", { name: "S", email: "s@example.com", timeZone: "UTC" }, other.adminKey)
		).body.member;
		const foreign = await call("POST", "/api/v1/rosters", {
			...weekly(),
			name: "z10",
			layers: [{ ...layer, participants: [stranger.id] }],
		});
		expect(foreign.status).toBe(422);
		expect(await rosterCount()).toBe(before);
	});

	it("refuses bad queries and overrides with a 4xx naming the field", async () => {
		const base = `/api/v1/rosters/${roster.id}`;
		const badAt = await call("GET", `${base}/oncall?at=yesterday`);
		expect(badAt.status).toBe(400);
		expect(JSON.stringify(badAt.body.error)).toContain("at");
		const tooLong = await call("GET", `${base}/shifts?from=2026-01-01T00:00:00Z&to=2028-06-01T00:00:00Z`);
		expect(tooLong.status).toBe(400);
		expect(tooLong.body.error.code).toBe("roster.window_too_long");
		const exportTooLong = await call("GET", `${base}/export.ics?from=2026-01-01T00:00:00Z&to=2029-01-01T00:00:00Z`);
		expect(exportTooLong.status).toBe(400);
		const backwards = await call("POST", `${base}/overrides`, {
			memberId: bob.id,
			from: "2026-11-05T10:00:00Z",
			until: "2026-11-05T09:00:00Z",
		});
		expect(backwards.status).toBe(400);
		expect(JSON.stringify(backwards.body.error)).toContain("until");
		const stranger = await call("POST", `${base}/overrides`, {
			memberId: "00000000-0000-4000-8000-000000000000",
			from: "2026-11-05T08:00:00Z",
			until: "2026-11-05T09:00:00Z",
		});
		expect(stranger.status).toBe(422);
		expect((await call("GET", `${base}/overrides?from=2026-11-01T00:00:00Z`)).body.overrides).toEqual([]);
		expect(
			(await call("POST", `${base}/overrides`, { memberId: bob.id, from: "x", until: "y" }, readonly)).status,
		).toBe(403);
	});

	it("keeps a member who is on a roster, and keeps tenants apart", async () => {
		const removal = await call("DELETE", `/api/v1/members/${alice.id}`);
		expect(removal.status).toBe(409);
		expect(removal.body.error.message).toMatch(/take part in roster "[^"]+"/);
		expect((await call("GET", `/api/v1/rosters/${roster.id}`, undefined, other.adminKey)).status).toBe(404);
		expect((await call("GET", `/api/v1/rosters/${roster.id}/oncall`, undefined, other.adminKey)).status).toBe(404);
		const update = await call("PUT", `/api/v1/rosters/${roster.id}`, { ...weekly(), version: 1 }, other.adminKey);
		expect(update.status).toBe(404);
		const theirs = other.adminKey;
		const base = `/api/v1/rosters/${roster.id}`;
		const window = "from=2026-11-02T00:00:00Z&to=2026-11-09T00:00:00Z";
		for (const [method, path, body] of [
			["GET", `${base}/shifts?${window}`],
			["GET", `${base}/gaps?${window}`],
			["GET", `${base}/export.ics?${window}`],
			["GET", `${base}/overrides`],
			[
				"POST",
				`${base}/overrides`,
				{ memberId: carol.id, from: "2026-11-05T08:00:00Z", until: "2026-11-05T09:00:00Z" },
			],
			["POST", `${base}/feed`],
			["POST", `${base}/import`, { name: "x", ics: "BEGIN:VCALENDAR\r\nEND:VCALENDAR" }],
			["DELETE", base],
		] as [string, string, object?][]) {
			expect((await call(method, path, body, theirs)).status, `${method} ${path}`).toBe(404);
		}
		const mine = await call("POST", `${base}/overrides`, {
			memberId: carol.id,
			from: "2026-12-05T08:00:00Z",
			until: "2026-12-05T09:00:00Z",
		});
		expect((await call("DELETE", `${base}/overrides/${mine.body.override.id}`, undefined, theirs)).status).toBe(404);
		expect((await call("GET", `${base}/overrides?from=2026-12-01T00:00:00Z`)).body.overrides).toHaveLength(1);
		expect((await call("DELETE", `${base}/overrides/${mine.body.override.id}`)).status).toBe(204);
	});

	it("updates a roster with optimistic concurrency", async () => {
		const updated = await call("PUT", `/api/v1/rosters/${roster.id}`, {
			...weekly(),
			description: "Primary",
			version: 1,
		});
		expect(updated.status).toBe(200);
		expect(updated.body.roster).toMatchObject({ description: "Primary", version: 2 });
		const stale = await call("PUT", `/api/v1/rosters/${roster.id}`, { ...weekly(), description: "Old", version: 1 });
		expect(stale.status).toBe(409);
		expect((await call("GET", `/api/v1/rosters/${roster.id}`)).body.roster.description).toBe("Primary");
	});
});
