/**
 * The `/opswatch` slash command (and the same words in a mention of the bot). Each subcommand
 * answers with a message; only the person who typed it sees it, except acknowledge and resolve,
 * which the channel sees.
 *
 *     /opswatch oncall [roster]        who is on call now, and next
 *     /opswatch alerts                 open alerts
 *     /opswatch ack <alert id>         acknowledge
 *     /opswatch resolve <alert id> [notes]
 *     /opswatch search <text>          the knowledge base
 *     /opswatch kb add                 opens the knowledge-base form
 *     /opswatch help
 */
import { DateTime } from "luxon";
import type { AlertApi } from "../alert/index.ts";
import type { KnowledgeBaseApi } from "../incident/index.ts";
import type { Clock } from "../platform/clock.ts";
import { isAppError } from "../platform/errors.ts";
import type { RosterApi } from "../roster/index.ts";
import { type Member, type MemberApi, memberIdOf } from "../tenant/index.ts";
import {
	alertLine,
	escapeText,
	knowledgeBaseModal,
	markdownToMrkdwn,
	replyMessage,
	type SlackMessage,
	truncateMrkdwn,
} from "./messages.ts";
import type { SlackPeople } from "./people.ts";
import { notLinked, type SlackScope } from "./scope.ts";
import type { SlackWeb } from "./web.ts";

/** A command as typed, and who typed it where. */
export interface CommandInput {
	teamId: string;
	userId: string;
	text: string;
	/** Opens a modal (`kb add`); absent for a mention, which can't open one. */
	triggerId?: string;
}

/** A command's answer: a message, whether the channel sees it, or nothing to say (a modal opened). */
export type CommandReply = { message: SlackMessage; inChannel: boolean } | undefined;

export interface CommandDeps {
	alerts: Pick<AlertApi, "list" | "acknowledge" | "resolve">;
	knowledgeBase: Pick<KnowledgeBaseApi, "search">;
	rosters: Pick<RosterApi, "list" | "getCurrentOnCall" | "getNextOnCall">;
	members: Pick<MemberApi, "findMany">;
	people: SlackPeople;
	web: Pick<SlackWeb, "openView">;
	clock: Clock;
	publicUrl: string;
}

const USAGE = [
	"`/opswatch oncall [roster]` — who is on call now, and next",
	"`/opswatch alerts` — open alerts",
	"`/opswatch ack <alert id>` — acknowledge an alert",
	"`/opswatch resolve <alert id> [notes]` — resolve it, saying what fixed it",
	"`/opswatch search <text>` — search the knowledge base",
	"`/opswatch kb add` — add a knowledge-base entry",
	"`/opswatch help` — this list",
];
const ALERTS_SHOWN = 15;
const HITS_SHOWN = 5;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const say = (text: string, inChannel = false): CommandReply => ({ message: replyMessage(text), inChannel });

export function helpReply(problem?: string): CommandReply {
	const lines = [...(problem ? [problem, ""] : []), "*OpsWatch commands*", ...USAGE];
	return { message: replyMessage(lines.join("\n")), inChannel: false };
}

export function createCommands(deps: CommandDeps) {
	const { alerts, clock } = deps;

	/** `member:<id>` as alerts record who acted. */
	const by = (member: Member) => `member:${member.id}`;

	async function oncall(scope: SlackScope, member: Member, rosterName: string): Promise<CommandReply> {
		const all = await deps.rosters.list(scope.tenant);
		const wanted = rosterName.toLowerCase();
		const rosters = wanted ? all.filter((r) => r.name.toLowerCase() === wanted || r.id === rosterName) : all;
		if (rosters.length === 0) {
			return say(
				all.length === 0
					? "This tenant has no rosters yet."
					: `No roster is named "${escapeText(rosterName)}". Rosters: ${all.map((r) => escapeText(r.name)).join(", ")}.`,
			);
		}
		const now = clock.now();
		const shifts = await Promise.all(
			rosters.map(async (roster) => ({
				roster,
				current: await deps.rosters.getCurrentOnCall(scope.tenant, roster.id, now),
				next: await deps.rosters.getNextOnCall(scope.tenant, roster.id, now),
			})),
		);
		const ids = shifts.flatMap((s) => [s.current?.memberId, s.next?.memberId]).filter((id): id is string => !!id);
		const names = new Map((await deps.members.findMany(scope.tenant, ids)).map((m) => [m.id, m.name]));
		// Times in the asking member's zone: that is the clock they plan by.
		const at = (date: Date) => DateTime.fromJSDate(date).setZone(member.timeZone).toFormat("ccc d LLL HH:mm ZZZZ");
		const lines = shifts.map(({ roster, current, next }) => {
			const now = current
				? `*${escapeText(names.get(current.memberId) ?? "someone")}* until ${at(current.shiftEnd)}`
				: "_nobody_ (a gap)";
			const then = next
				? ` · next: ${escapeText(names.get(next.memberId) ?? "someone")} from ${at(next.shiftStart)}`
				: "";
			return `*${escapeText(roster.name)}*: ${now}${then}`;
		});
		return say(lines.join("\n"));
	}

	async function openAlerts(scope: SlackScope): Promise<CommandReply> {
		const page = await alerts.list(scope.tenant, { status: ["firing", "acknowledged"], limit: ALERTS_SHOWN + 1 });
		if (page.alerts.length === 0) return say("No open alerts.");
		const shown = page.alerts.slice(0, ALERTS_SHOWN);
		const lines = shown.map((a) => alertLine({ ...a, url: `${deps.publicUrl}/alerts/${a.id}` }));
		if (page.alerts.length > ALERTS_SHOWN) lines.push(`_More in ${deps.publicUrl}/alerts_`);
		const text = `${shown.length}${page.alerts.length > ALERTS_SHOWN ? "+" : ""} open alert(s)`;
		return { message: replyMessage(text, lines), inChannel: false };
	}

	async function respond(
		scope: SlackScope,
		member: Member,
		action: "ack" | "resolve",
		args: string,
	): Promise<CommandReply> {
		const [id = "", ...rest] = args.split(/\s+/);
		if (!id)
			return helpReply(
				`\`${action}\` needs an alert id: \`/opswatch ${action} <alert id>\` (\`/opswatch alerts\` lists them).`,
			);
		if (!uuid.test(id)) return say(`"${escapeText(id)}" is not an alert id (\`/opswatch alerts\` lists them).`);
		const notes = rest.join(" ").trim() || undefined;
		try {
			const alert =
				action === "ack"
					? await alerts.acknowledge(scope.tenant, id, by(member), "slack")
					: await alerts.resolve(scope.tenant, id, { name: by(member), kind: "member" }, notes, "slack");
			// Acting twice is no error (transitions are idempotent), but someone else may have been first.
			const actedBy = action === "ack" ? alert.acknowledgedBy : alert.resolvedBy;
			if (actedBy !== by(member)) {
				const firstId = memberIdOf(actedBy);
				const [first] = firstId ? await deps.members.findMany(scope.tenant, [firstId]) : [];
				const state = action === "ack" ? "acknowledged" : "resolved";
				return say(
					`*${escapeText(alert.title)}* was already ${state} by ${escapeText(first?.name ?? actedBy ?? "someone")}.`,
				);
			}
			const done = action === "ack" ? ":eyes: acknowledged" : ":white_check_mark: resolved";
			return say(
				`${escapeText(member.name)} ${done} *${escapeText(alert.title)}*${notes ? `: ${escapeText(notes)}` : "."}`,
				true,
			);
		} catch (error) {
			if (isAppError(error) && (error.kind === "not_found" || error.kind === "conflict")) {
				return say(`Not done: ${escapeText(error.message)}.`);
			}
			throw error;
		}
	}

	async function search(scope: SlackScope, text: string): Promise<CommandReply> {
		if (!text) return helpReply("`search` needs words to look for: `/opswatch search disk full`.");
		const hits = await deps.knowledgeBase.search(scope.tenant, text, HITS_SHOWN);
		if (hits.length === 0) return say(`Nothing in the knowledge base matches "${escapeText(text)}".`);
		const lines = hits.map(
			({ incident }) =>
				`*${escapeText(incident.title)}*\n${truncateMrkdwn(markdownToMrkdwn(incident.solution), 600)}\n\`${incident.id}\``,
		);
		return { message: replyMessage(`${hits.length} knowledge-base match(es) for "${text}"`, lines), inChannel: false };
	}

	async function addToKnowledgeBase(scope: SlackScope, input: CommandInput): Promise<CommandReply> {
		if (!input.triggerId || !scope.token) return say("Use `/opswatch kb add` as a slash command: it opens a form.");
		await deps.web.openView(scope.token, input.triggerId, knowledgeBaseModal({ tenantId: scope.tenant.id }));
		return undefined;
	}

	return {
		/** Runs one command for a known workspace; unknown words get the usage. */
		async run(scope: SlackScope, input: CommandInput): Promise<CommandReply> {
			const text = input.text.trim();
			const [word = "", ...rest] = text.split(/\s+/);
			const args = rest.join(" ").trim();
			const subcommand = word.toLowerCase();
			if (subcommand === "" || subcommand === "help") return helpReply();
			const known = ["oncall", "alerts", "ack", "resolve", "search", "kb"];
			if (!known.includes(subcommand)) return helpReply(`Unknown command "${escapeText(word)}".`);

			const member = await deps.people.memberOf(scope.tenant, input, scope.token);
			if (!member) return say(notLinked(scope.tenant.slug, input.userId));
			switch (subcommand) {
				case "oncall":
					return oncall(scope, member, args);
				case "alerts":
					return openAlerts(scope);
				case "ack":
				case "resolve":
					return respond(scope, member, subcommand, args);
				case "search":
					return search(scope, args);
				default:
					return args.toLowerCase() === "add"
						? addToKnowledgeBase(scope, input)
						: helpReply(`Unknown command "kb ${escapeText(args)}"; did you mean \`/opswatch kb add\`?`);
			}
		},
	};
}

export type Commands = ReturnType<typeof createCommands>;
