import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../test/harness/fake-slack.ts";
import type { RecordedHandoff } from "../roster/index.ts";
import type { Member } from "../tenant/index.ts";
import { createHandoffAnnouncer, handoffTexts } from "./handoff-announcer.ts";
import { createSlackChannels } from "./slack.ts";

const member = (id: string, name: string, timeZone: string, slack?: string): Member => ({
	id,
	name,
	role: "engineer",
	email: `${id}@example.com`,
	timeZone,
	contactMethods: slack ? [{ type: "slack", value: slack }] : [],
	notificationRules: [],
	version: 1,
	createdAt: new Date(0),
	updatedAt: new Date(0),
});
const ada = member("ada", "Ada", "Europe/Berlin", "U0ADA");
const bo = member("bo", "Bo", "America/New_York", "U0BO");
const handoff: RecordedHandoff = {
	rosterId: "r",
	rosterName: "Primary",
	at: new Date("2026-11-30T08:00:00Z"),
	incomingMemberId: "ada",
	outgoingMemberId: "bo",
	shiftEnd: new Date("2026-12-07T08:00:00Z"),
};

describe("handoff notices", () => {
	it("tells each person in their own time zone", () => {
		expect(handoffTexts(handoff, ada, bo).map((t) => [t.member.name, t.text])).toEqual([
			[
				"Ada",
				"You are on call for Primary from Mon 30 Nov 09:00 (Europe/Berlin) until Mon 7 Dec 09:00 (Europe/Berlin).",
			],
			["Bo", "Your on-call shift for Primary ended at Mon 30 Nov 03:00 (America/New_York); Ada took over."],
		]);
		expect(handoffTexts({ ...handoff, incomingMemberId: null, shiftEnd: null }, undefined, bo)[0]!.text).toMatch(
			/nobody is on call after you/,
		);
	});

	let slack: FakeSlack;
	beforeAll(async () => {
		slack = await startFakeSlack({ token: "xoxb-handoff" });
	});
	afterAll(() => slack.close());

	it("sends them by Slack DM when it can, and logs names only", async () => {
		const logged: Record<string, unknown>[] = [];
		const announcer = createHandoffAnnouncer({
			members: {
				findMany: async (_tenant, ids) => [ada, bo, member("cy", "Cy", "UTC")].filter((m) => ids.includes(m.id)),
			},
			slackSay: createSlackChannels({ tokenFor: async () => "xoxb-handoff", apiUrl: slack.url }).say,
			notice: (fields) => void logged.push(fields),
			onError: (error) => {
				throw error;
			},
		});
		await announcer.announce({ id: "t", slug: "acme", schema: "tenant_acme" }, handoff);
		expect(slack.dmsTo("U0ADA").map((m) => m.text)).toEqual([expect.stringMatching(/^You are on call for Primary/)]);
		expect(slack.dmsTo("U0BO").map((m) => m.text)).toEqual([expect.stringMatching(/Ada took over/)]);
		expect(logged).toEqual([
			expect.objectContaining({ tenant: "acme", incoming: "Ada", outgoing: "Bo", toldBySlack: ["Ada", "Bo"] }),
		]);
		expect(JSON.stringify(logged)).not.toContain("U0ADA");
	});
});
