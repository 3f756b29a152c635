import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../platform/errors.ts";
import type { Interactions } from "./interactions.ts";
import { slackSignatureProblem } from "./signature.ts";

/** What Slack posts for a button click (`payload` form field, JSON); fields we don't use pass through. */
const blockActionsPayload = z
	.object({
		type: z.literal("block_actions"),
		team: z.object({ id: z.string() }).loose(),
		user: z.object({ id: z.string() }).loose(),
		actions: z
			.array(z.object({ action_id: z.string(), value: z.string().optional(), action_ts: z.string() }).loose())
			.min(1),
		container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).loose().optional(),
		response_url: z.url().optional(),
	})
	.loose();

/**
 * Slack's requests to OpsWatch: interactions (button clicks) and events. Each is verified by
 * `X-Slack-Signature` over the raw body with the app's signing secret before anything is read;
 * a request that fails gets 401 and changes nothing.
 */
export const slackRoutes: FastifyPluginAsyncZod<{
	signingSecret: string;
	interactions: Interactions;
	now: () => Date;
}> = async (app, { signingSecret, interactions, now }) => {
	// The signature covers the body as sent: keep it, then parse the form.
	const rawBodies = new WeakMap<object, string>();
	const keepRaw = (request: object, body: string) => rawBodies.set(request, body);
	app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (request, body, done) => {
		keepRaw(request, body as string);
		done(null, Object.fromEntries(new URLSearchParams(body as string)));
	});
	app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
		keepRaw(request, body as string);
		try {
			done(null, JSON.parse(body as string));
		} catch {
			done(new AppError("validation", "request.invalid_json", "The body is not valid JSON"), undefined);
		}
	});
	app.addHook("preValidation", async (request) => {
		const header = (name: string) => {
			const value = request.headers[name];
			return typeof value === "string" ? value : undefined;
		};
		const problem = slackSignatureProblem(
			signingSecret,
			{ timestamp: header("x-slack-request-timestamp"), signature: header("x-slack-signature") },
			rawBodies.get(request) ?? "",
			now(),
		);
		if (problem) throw new AppError("unauthenticated", "slack.bad_signature", problem);
	});
	const tags = ["slack"];

	app.post(
		"/api/v1/slack/interactions",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "Slack interactivity: the alert message's Acknowledge and Resolve buttons (signed by Slack)",
				body: z.object({ payload: z.string() }).loose(),
			},
		},
		async (request, reply) => {
			let json: unknown;
			try {
				json = JSON.parse(request.body.payload);
			} catch {
				throw new AppError("validation", "slack.invalid_payload", "The payload field is not JSON", {
					fields: [{ path: "body.payload", message: "is not JSON" }],
				});
			}
			const kind = (json as { type?: unknown } | null)?.type;
			// Modal submissions and shortcuts come with the knowledge-base prompt (issue 7); accepted, unused.
			if (kind !== "block_actions") return reply.status(200).send();
			const parsed = blockActionsPayload.safeParse(json);
			if (!parsed.success) {
				throw new AppError("validation", "slack.invalid_payload", "The payload is not a block_actions payload", {
					fields: parsed.error.issues.map((issue) => ({
						path: ["body", "payload", ...issue.path].join("."),
						message: issue.message,
					})),
				});
			}
			const payload = parsed.data;
			const action = payload.actions[0]!;
			const channel = payload.container?.channel_id;
			const ts = payload.container?.message_ts;
			await interactions.blockAction({
				teamId: payload.team.id,
				userId: payload.user.id,
				actionId: action.action_id,
				value: action.value ?? "",
				actionTs: action.action_ts,
				message: channel && ts ? { channel, ts } : undefined,
				responseUrl: payload.response_url,
			});
			return reply.status(200).send();
		},
	);

	app.post(
		"/api/v1/slack/events",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "Slack Events API: answers url_verification (signed) with its challenge",
				body: z.object({ type: z.string(), challenge: z.string().optional() }).loose(),
			},
		},
		async (request, reply) => {
			if (request.body.type === "url_verification") return { challenge: request.body.challenge ?? "" };
			return reply.status(200).send();
		},
	);
};
