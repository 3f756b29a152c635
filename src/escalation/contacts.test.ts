import { describe, expect, it } from "vitest";
import type { Member } from "../tenant/index.ts";
import { fallbackFor, routeFor } from "./contacts.ts";
import type { PersonChannel } from "./types.ts";

const member = (contactMethods: Member["contactMethods"]): Member => ({
	id: "m",
	name: "Ada",
	role: "engineer",
	email: "ada@example.com",
	timeZone: "Europe/Berlin",
	contactMethods,
	notificationRules: [],
	version: 1,
	createdAt: new Date(0),
	updatedAt: new Date(0),
});

const everything = new Set<PersonChannel>(["slack_dm", "sms", "phone", "push", "inbox"]);
const ada = member([
	{ type: "phone", value: "+4915112345678" },
	{ type: "slack", value: "U0ADA" },
]);

describe("routing a planned channel to a destination", () => {
	it.each([
		{ channel: "slack_dm", expected: { channel: "slack_dm", destination: "U0ADA" } },
		{ channel: "phone", expected: { channel: "phone", destination: "+4915112345678" } },
		// SMS goes to the phone number when there is no separate SMS number.
		{ channel: "sms", expected: { channel: "sms", destination: "+4915112345678" } },
		{ channel: "inbox", expected: { channel: "inbox", destination: null } },
	] as const)("$channel", ({ channel, expected }) => {
		expect(routeFor(ada, channel, everything)).toEqual(expected);
	});

	it("sends to the inbox, saying why, when the channel is not configured or the member has no contact for it", () => {
		expect(routeFor(ada, "slack_dm", new Set(["inbox"]))).toEqual({
			channel: "inbox",
			destination: null,
			reason: "slack_dm is not configured on this OpsWatch",
		});
		expect(routeFor(member([]), "phone", everything)).toMatchObject({
			channel: "inbox",
			reason: "the member has no contact method for phone",
		});
	});
});

describe("falling through after a failed channel", () => {
	it("takes the member's next contact method in their order, then wraps around, then the inbox", () => {
		expect(fallbackFor(ada, "phone", new Set(), everything)).toEqual({ channel: "slack_dm", destination: "U0ADA" });
		expect(fallbackFor(ada, "slack_dm", new Set(), everything)).toEqual({
			channel: "phone",
			destination: "+4915112345678",
		});
		expect(fallbackFor(ada, "slack_dm", new Set(["phone"]), everything)).toMatchObject({ channel: "inbox" });
		expect(fallbackFor(ada, "phone", new Set(), new Set(["phone", "inbox"]))).toMatchObject({ channel: "inbox" });
	});
});
