import type { ActionsBlock, KnownBlock, SectionBlock } from "@slack/web-api";
import { describe, expect, it } from "vitest";
import {
	ALERT_ACTIONS,
	alertMessage,
	markdownToMrkdwn,
	parseAlertButtonValue,
	type SlackAlert,
	truncateMrkdwn,
} from "./messages.ts";

const alert = (overrides: Partial<SlackAlert> = {}): SlackAlert => ({
	id: "al_123",
	title: "Disk full on db-1",
	severity: "critical",
	labels: { host: "db-1" },
	solution: null,
	runbookUrl: null,
	url: "https://opswatch.example.com/alerts/al_123",
	...overrides,
});

const sections = (blocks: KnownBlock[]) =>
	blocks.filter((b): b is SectionBlock => b.type === "section").map((b) => b.text?.text ?? "");
const actions = (blocks: KnownBlock[]) => blocks.find((b): b is ActionsBlock => b.type === "actions");

describe("alertMessage", () => {
	it("has a fallback text, a header with the severity, and buttons carrying the alert id", () => {
		const message = alertMessage(alert());
		expect(message.text).toBe("[CRITICAL] Disk full on db-1");
		expect(message.blocks[0]).toMatchObject({
			type: "header",
			text: { type: "plain_text", text: ":red_circle: CRITICAL: Disk full on db-1" },
		});
		expect(actions(message.blocks)?.elements).toEqual([
			expect.objectContaining({ action_id: ALERT_ACTIONS.acknowledge, value: "al_123", style: "primary" }),
			expect.objectContaining({ action_id: ALERT_ACTIONS.resolve, value: "al_123", style: "danger" }),
			expect.objectContaining({ action_id: ALERT_ACTIONS.view, url: "https://opswatch.example.com/alerts/al_123" }),
		]);
		expect(actions(message.blocks)?.elements.map((e) => ("text" in e ? e.text?.text : undefined))).toEqual([
			"Acknowledge",
			"Resolve",
			"View",
		]);
	});

	it.each([
		[
			"title",
			{ title: "a < b && c > d" },
			(m: ReturnType<typeof alertMessage>) => m.text,
			"[CRITICAL] a &lt; b &amp;&amp; c &gt; d",
		],
		[
			"mention",
			{ title: "<!channel> ping" },
			(m: ReturnType<typeof alertMessage>) => m.text,
			"[CRITICAL] &lt;!channel&gt; ping",
		],
		[
			"label",
			{ labels: { q: "<@U1>&x" } },
			(m: ReturnType<typeof alertMessage>) => sections(m.blocks)[0],
			"`q=&lt;@U1&gt;&amp;x`",
		],
		[
			"solution",
			{ solution: "Run `df -h` & <restart>" },
			(m: ReturnType<typeof alertMessage>) => sections(m.blocks)[1],
			"*Known fix*\nRun `df -h` &amp; &lt;restart&gt;",
		],
	])("escapes &, < and > in the %s", (_name, overrides, pick, expected) => {
		expect(pick(alertMessage(alert(overrides)))).toBe(expected);
	});

	it("shows labels as sorted key=value code spans, at most ten, and counts the rest", () => {
		const labels = Object.fromEntries(
			Array.from({ length: 13 }, (_, i) => [`k${String(i).padStart(2, "0")}`, `v${i}`]),
		);
		const [line] = sections(alertMessage(alert({ labels: { zone: "eu", ...labels } })).blocks);
		const spans = line?.match(/`[^`]+`/g) ?? [];
		expect(spans).toHaveLength(10);
		expect(spans[0]).toBe("`k00=v0`");
		expect(spans[9]).toBe("`k09=v9`");
		expect(line).toMatch(/_\+4 more_$/);
	});

	it("omits the labels section when there are none", () => {
		expect(sections(alertMessage(alert({ labels: {} })).blocks)).toEqual([]);
	});

	it.each([
		["no known fix", null],
		["an empty fix", "  \n "],
	])("has no Known fix section for %s", (_name, solution) => {
		const texts = sections(alertMessage(alert({ solution })).blocks);
		expect(texts.some((t) => t.includes("Known fix"))).toBe(false);
	});

	it("truncates a long known fix to Slack's 3000-character section limit", () => {
		const fix = sections(alertMessage(alert({ solution: "x".repeat(5000) })).blocks).find((t) =>
			t.includes("Known fix"),
		);
		expect(fix).toHaveLength(3000);
		expect(fix?.endsWith("…")).toBe(true);
	});

	it("links the runbook and shows the escalation tier, with the attempt once past the first", () => {
		const first = alertMessage(alert({ runbookUrl: "https://wiki.example.com/db?a=1&b=2" }), {
			escalation: { tier: 2, attempt: 1 },
		});
		expect(sections(first.blocks)).toContain(":book: <https://wiki.example.com/db?a=1&amp;b=2|Runbook>");
		expect(first.blocks).toContainEqual({ type: "context", elements: [{ type: "mrkdwn", text: "Escalation tier 2" }] });
		const again = alertMessage(alert(), { escalation: { tier: 1, attempt: 2 } });
		expect(again.blocks).toContainEqual({
			type: "context",
			elements: [{ type: "mrkdwn", text: "Escalation tier 1 · attempt 2" }],
		});
		expect(alertMessage(alert()).blocks.some((b) => b.type === "context")).toBe(false);
	});

	it("keeps the header within Slack's 150 characters", () => {
		const [header] = alertMessage(alert({ title: "t".repeat(400) })).blocks;
		expect(header?.type === "header" && header.text.text.length).toBe(150);
	});
});

describe("markdownToMrkdwn", () => {
	it.each([
		["bold", "Restart **now**", "Restart *now*"],
		["underscore bold", "Restart __now__", "Restart *now*"],
		["italic", "Restart *gently*", "Restart _gently_"],
		["heading", "## Steps", "*Steps*"],
		["bullets", "- one\n* two", "• one\n• two"],
		["link", "See [the docs](https://x.example/a?b=1&c=2)", "See <https://x.example/a?b=1&amp;c=2|the docs>"],
		["code", "Run `rm -rf /tmp/*.log`", "Run `rm -rf /tmp/*.log`"],
	])("converts %s", (_name, markdown, mrkdwn) => {
		expect(markdownToMrkdwn(markdown)).toBe(mrkdwn);
	});
});

describe("truncateMrkdwn", () => {
	it.each([
		["short text unchanged", "abc", 5, "abc"],
		["plain cut", "abcdefgh", 5, "abcd…"],
		["never inside an entity", "ab &amp; cd", 6, "ab …"],
		["never inside a link", "see <https://x.example|x>", 12, "see …"],
	])("%s", (_name, text, limit, expected) => {
		expect(truncateMrkdwn(text, limit)).toBe(expected);
	});
});

describe("the alert message after someone acted", () => {
	const tenantId = "6aa0dd16-5a3e-471a-ba46-894dd4240b32";
	const alertId = "07c3942d-3a38-4532-bcd9-0364db06dccf";
	const actionsOf = (blocks: KnownBlock[]) =>
		(blocks.find((b) => b.type === "actions") as ActionsBlock).elements.map((e) =>
			"action_id" in e ? e.action_id : "",
		);

	it.each([
		[undefined, [ALERT_ACTIONS.acknowledge, ALERT_ACTIONS.resolve, ALERT_ACTIONS.view], undefined],
		["acknowledged", [ALERT_ACTIONS.resolve, ALERT_ACTIONS.view], "Acknowledged by Ada & Co"],
		["resolved", [ALERT_ACTIONS.view], "Resolved by Ada & Co"],
	] as const)("%s: shows the buttons that still make sense, and who acted", (status, buttons, shown) => {
		const { blocks } = alertMessage(alert({ id: alertId }), {
			tenantId,
			...(status && { state: { status, by: "Ada & Co" } }),
		});
		expect(actionsOf(blocks)).toEqual(buttons);
		const text = JSON.stringify(blocks);
		if (shown) expect(text).toContain(shown.replace("&", "&amp;"));
		expect((blocks.find((b) => b.type === "actions") as ActionsBlock).elements[0]).toMatchObject({
			value: `${tenantId}:${alertId}`,
		});
	});

	it("reads a button's value back, and nothing else", () => {
		expect(parseAlertButtonValue(`${tenantId}:${alertId}`)).toEqual({ tenantId, alertId });
		for (const value of [alertId, `${tenantId}:`, `${tenantId}:${alertId}:x`, "drop table"]) {
			expect(parseAlertButtonValue(value)).toBeUndefined();
		}
	});
});
