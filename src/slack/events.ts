/**
 * The Events API: a mention of the bot (`@OpsWatch oncall`) or a direct message to it runs the
 * same commands as `/opswatch`, answered in the thread (or the DM). Slack wants its 200 within
 * 3 seconds and retries otherwise (`X-Slack-Retry-Num`), so the API only records the event id
 * and hands the event to the worker on the bus; a retried or already-seen event is not handed
 * over twice, and several workers run each event once.
 *
 * Example (`event_callback`, trimmed):
 *
 *     { "type": "event_callback", "team_id": "T0TEAM", "event_id": "Ev0MENTION",
 *       "event": { "type": "app_mention", "user": "U0ADA", "text": "<@U0BOT> oncall primary",
 *                  "channel": "C0OPS", "ts": "1764151200.000100" } }
 */
import { type EventBus, keepSubscribed } from "../platform/bus/index.ts";
import type { Cache } from "../platform/cache/index.ts";
import type { TenantApi } from "../tenant/index.ts";
import type { Commands } from "./commands.ts";
import type { Installations } from "./installations.ts";
import { replyMessage } from "./messages.ts";
import { notLinked, type SlackEndpoint, scopeOf } from "./scope.ts";
import type { SlackWeb } from "./web.ts";

/** The part of an event we act on. */
export interface SlackEvent {
	type: string;
	user?: string;
	text?: string;
	channel?: string;
	channel_type?: string;
	ts?: string;
	thread_ts?: string;
	bot_id?: string;
	subtype?: string;
}

/** What travels from the API to a worker. */
interface EventJob {
	teamId: string;
	eventId: string;
	/** Set when the event reached a tenant's own endpoint. */
	tenantId?: string;
	event: SlackEvent;
}

export const EVENTS_TOPIC = "slack.events";
/** Slack retries for up to about an hour (three tries); an event id is remembered longer. */
const SEEN_TTL_MS = 2 * 3600_000;

export interface EventDeps {
	bus: Pick<EventBus, "publish" | "subscribe">;
	cache: Cache;
	installations: Pick<Installations, "tenantOfTeam" | "credentials">;
	tenants: Pick<TenantApi, "findTenantById">;
	commands: Commands;
	web: Pick<SlackWeb, "post">;
	onError(error: unknown, context: string): void;
}

export function createEvents(deps: EventDeps) {
	/** The words after the bot's mention, or the whole DM. */
	const commandText = (text: string) => text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, " ").trim();

	/** True for what a person said to the bot; bot messages (ours included) and edits are ignored. */
	const addressedToBot = (event: SlackEvent) =>
		!event.bot_id &&
		!event.subtype &&
		!!event.user &&
		!!event.channel &&
		(event.type === "app_mention" || (event.type === "message" && event.channel_type === "im"));

	async function run(job: EventJob): Promise<void> {
		const { event } = job;
		if (!addressedToBot(event)) return;
		// Several workers receive each job; one runs it.
		if (!(await deps.cache.setIfAbsent(`slack:event-run:${job.eventId}`, "1", SEEN_TTL_MS))) return;
		const tenant = job.tenantId ? await deps.tenants.findTenantById(job.tenantId) : undefined;
		const endpoint: SlackEndpoint = tenant ? { kind: "tenant", tenant } : { kind: "app" };
		const scope = await scopeOf(deps.installations, endpoint, job.teamId);
		// A workspace nobody installed has no token of ours to answer with.
		if (!scope?.token) return;
		const reply = await deps.commands.run(scope, {
			teamId: job.teamId,
			userId: event.user!,
			text: commandText(event.text ?? ""),
		});
		const message = reply?.message ?? replyMessage(notLinked(scope.tenant.slug, event.user!));
		const thread = event.type === "app_mention" ? (event.thread_ts ?? event.ts) : undefined;
		await deps.web.post(scope.token, event.channel!, message, thread);
	}

	// Runs in flight, so tests (and shutdown) can wait for them.
	const running = new Set<Promise<void>>();

	return {
		/** Resolves once every event handed to this process has been answered. */
		async settled(): Promise<void> {
			while (running.size > 0) await Promise.allSettled([...running]);
		},

		/**
		 * Takes an `event_callback` from the API: true when it was handed to the worker, false when
		 * it was seen before (Slack's retry after a slow answer or a lost 200).
		 */
		async accept(
			endpoint: SlackEndpoint,
			envelope: { teamId: string; eventId: string; event: SlackEvent },
		): Promise<boolean> {
			if (!(await deps.cache.setIfAbsent(`slack:event:${envelope.eventId}`, "1", SEEN_TTL_MS))) return false;
			const job: EventJob = {
				...envelope,
				...(endpoint.kind === "tenant" && { tenantId: endpoint.tenant.id }),
			};
			await deps.bus.publish(EVENTS_TOPIC, job);
			return true;
		},

		/** The worker's side: runs the events handed over (subscribing until the bus is up). Returns the stop. */
		startWorker(): () => Promise<void> {
			return keepSubscribed<EventJob>(
				deps.bus,
				EVENTS_TOPIC,
				async (message) => {
					const work = run(message.payload).catch((error) => deps.onError(error, "slack event"));
					running.add(work);
					await work.finally(() => running.delete(work));
				},
				{ onError: (error) => deps.onError(error, "slack events subscription") },
			);
		},
	};
}

export type Events = ReturnType<typeof createEvents>;
