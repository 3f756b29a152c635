import type { AlertApi } from "../alert/index.ts";
import type { KnowledgeBaseApi } from "../incident/index.ts";
import type { EventBus } from "../platform/bus/index.ts";
import type { Cache } from "../platform/cache/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { RosterApi } from "../roster/index.ts";
import type { MemberApi, TenantApi } from "../tenant/index.ts";
import { type CommandInput, type CommandReply, createCommands } from "./commands.ts";
import { createEvents } from "./events.ts";
import type { Installations } from "./installations.ts";
import { createInteractions } from "./interactions.ts";
import { replyMessage } from "./messages.ts";
import { createOAuth, type OAuthDeps } from "./oauth.ts";
import { createSlackPeople } from "./people.ts";
import { type SlackEndpoint, scopeOf, UNKNOWN_WORKSPACE } from "./scope.ts";
import type { SlackWeb } from "./web.ts";

export interface SlackBotDeps {
	alerts: Pick<AlertApi, "list" | "acknowledge" | "resolve" | "views">;
	knowledgeBase: Pick<KnowledgeBaseApi, "create" | "prompt" | "search">;
	rosters: Pick<RosterApi, "list" | "getCurrentOnCall" | "getNextOnCall">;
	members: Pick<MemberApi, "findByContact" | "findByEmail" | "findMany">;
	tenants: Pick<TenantApi, "findTenantById">;
	installations: Installations;
	web: SlackWeb;
	bus: Pick<EventBus, "publish" | "subscribe">;
	cache: Cache;
	clock: Clock;
	publicUrl: string;
	/** The install flow, when the deployment's Slack app has a client id and secret. */
	oauth?: Pick<OAuthDeps, "clientId" | "clientSecret" | "authorizeUrl" | "stateKey">;
	onError(error: unknown, context: string): void;
}

/**
 * Slack allows 3 seconds for a command's answer; past this budget the answer goes through the
 * command's response URL instead, once ready (https://docs.slack.dev/interactivity/implementing-slash-commands).
 */
const COMMAND_BUDGET_MS = 2500;

/** The command as Slack posts it (form fields we use). */
export interface SlashCommand extends CommandInput {
	responseUrl?: string;
}

/** The Slack bot: everything Slack's requests reach, and the install flow. */
export function createSlackBot(deps: SlackBotDeps) {
	const people = createSlackPeople({ members: deps.members, web: deps.web, cache: deps.cache, onError: deps.onError });
	const commands = createCommands({ ...deps, people });
	const interactions = createInteractions({ ...deps, people });
	const events = createEvents({ ...deps, commands });
	const oauth = deps.oauth
		? createOAuth({
				...deps.oauth,
				publicUrl: deps.publicUrl,
				clock: deps.clock,
				tenants: deps.tenants,
				installations: deps.installations,
				web: deps.web,
			})
		: undefined;

	return {
		installations: deps.installations,
		interactions,
		events,
		oauth,

		/**
		 * Runs `/opswatch …` and returns the answer for the HTTP response; an answer not ready within
		 * the budget is sent to the response URL later, and the response says so.
		 */
		async command(endpoint: SlackEndpoint, input: SlashCommand): Promise<CommandReply> {
			const scope = await scopeOf(deps.installations, endpoint, input.teamId);
			if (!scope) return { message: replyMessage(UNKNOWN_WORKSPACE), inChannel: false };
			const work = commands.run(scope, input).catch((error): CommandReply => {
				deps.onError(error, "slack command");
				return { message: replyMessage("OpsWatch failed to answer this; the error is logged."), inChannel: false };
			});
			let timer: NodeJS.Timeout | undefined;
			const late = new Promise<"late">((resolve) => {
				timer = setTimeout(() => resolve("late"), COMMAND_BUDGET_MS);
			});
			const first = await Promise.race([work, late]).finally(() => clearTimeout(timer));
			if (first !== "late") return first;
			const responseUrl = input.responseUrl;
			work
				.then(async (reply) => {
					if (reply && responseUrl) await deps.web.respond(responseUrl, reply.message, { inChannel: reply.inChannel });
				})
				.catch((error) => deps.onError(error, "slack command"));
			return { message: replyMessage("Working on it…"), inChannel: false };
		},
	};
}

export type SlackBot = ReturnType<typeof createSlackBot>;
