import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../platform/errors.ts";
import { actorOf, type Tenant, type TenantApi, tenantPrincipal } from "../tenant/index.ts";
import type { SlackBot } from "./bot.ts";
import type { SlackInstallation } from "./installations.ts";
import type { SlackEndpoint } from "./scope.ts";
import { slackSignatureProblem } from "./signature.ts";

/** Who sent an interaction: every interactivity payload names its workspace and user. */
const sender = {
	team: z.object({ id: z.string() }).loose(),
	user: z.object({ id: z.string() }).loose(),
};

/** What Slack posts for a button click (`payload` form field, JSON); fields we don't use pass through. */
const blockActionsPayload = z
	.object({
		type: z.literal("block_actions"),
		...sender,
		actions: z
			.array(z.object({ action_id: z.string(), value: z.string().optional(), action_ts: z.string() }).loose())
			.min(1),
		container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).loose().optional(),
		response_url: z.url().optional(),
		trigger_id: z.string().optional(),
	})
	.loose();

/** A modal's submission. */
const viewSubmissionPayload = z
	.object({
		type: z.literal("view_submission"),
		...sender,
		view: z
			.object({
				callback_id: z.string(),
				private_metadata: z.string().default(""),
				state: z.object({
					values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullish() }).loose())),
				}),
			})
			.loose(),
	})
	.loose();

const slashCommand = z
	.object({
		team_id: z.string().min(1),
		user_id: z.string().min(1),
		command: z.string(),
		text: z.string().default(""),
		response_url: z.url().optional(),
		trigger_id: z.string().optional(),
	})
	.loose();

const eventEnvelope = z.discriminatedUnion("type", [
	z.object({ type: z.literal("url_verification"), challenge: z.string() }).loose(),
	// Slack tells an app it is being rate limited; nothing to do but answer.
	z.object({ type: z.literal("app_rate_limited") }).loose(),
	z
		.object({
			type: z.literal("event_callback"),
			team_id: z.string(),
			event_id: z.string(),
			event: z.object({ type: z.string() }).loose(),
		})
		.loose(),
]);

const invalidPayload = (issues: z.core.$ZodIssue[], what: string) =>
	new AppError("validation", "slack.invalid_payload", `The payload is not a ${what} payload`, {
		fields: issues.map((issue) => ({ path: ["body", "payload", ...issue.path].join("."), message: issue.message })),
	});

export interface SlackRoutesOptions {
	bot: SlackBot;
	tenants: Pick<TenantApi, "getTenant">;
	/** The OpsWatch app's signing secret; unset, only tenants' own apps' endpoints work. */
	signingSecret: string | undefined;
	now: () => Date;
}

/**
 * Slack's requests to OpsWatch: interactions (clicks, modal submissions), slash commands and
 * events, for the OpsWatch app (`/api/v1/slack/…`) and for a tenant's own app
 * (`/api/v1/slack/t/<tenant>/…`). Each is verified by `X-Slack-Signature` over the raw body with
 * the app's signing secret before anything is read; one that fails gets 401 and changes nothing.
 */
export const slackRoutes: FastifyPluginAsyncZod<SlackRoutesOptions> = async (
	app,
	{ bot, tenants, signingSecret, now },
) => {
	// The signature covers the body as sent: keep it, then parse the form.
	const rawBodies = new WeakMap<object, string>();
	const endpoints = new WeakMap<object, SlackEndpoint>();
	const keepRaw = (request: object, body: string) => rawBodies.set(request, body);
	app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (request, body, done) => {
		keepRaw(request, body as string);
		done(null, Object.fromEntries(new URLSearchParams(body as string)));
	});
	// Slack signs what it sent: this parser replaces the server's, which would not keep the text.
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
		keepRaw(request, body as string);
		try {
			done(null, JSON.parse(body as string));
		} catch {
			done(new AppError("validation", "request.invalid_json", "The body is not valid JSON"), undefined);
		}
	});

	/** The endpoint a request reached and the secret its signature must match. */
	async function endpointOf(request: FastifyRequest): Promise<{ endpoint: SlackEndpoint; secret: string | undefined }> {
		const slug = (request.params as { tenant?: string }).tenant;
		if (slug === undefined) return { endpoint: { kind: "app" }, secret: signingSecret };
		let tenant: Tenant;
		try {
			tenant = await tenants.getTenant(slug);
		} catch {
			throw new AppError("unauthenticated", "slack.bad_signature", `No Slack app of tenant "${slug}" signs here`);
		}
		const credentials = await bot.installations.credentials(tenant);
		return { endpoint: { kind: "tenant", tenant }, secret: credentials.signingSecret };
	}

	app.addHook("preValidation", async (request) => {
		const header = (name: string) => {
			const value = request.headers[name];
			return typeof value === "string" ? value : undefined;
		};
		const { endpoint, secret } = await endpointOf(request);
		if (!secret) {
			throw new AppError(
				"unauthenticated",
				"slack.bad_signature",
				endpoint.kind === "app"
					? "OpsWatch has no Slack signing secret configured (OPSWATCH_SLACK_SIGNING_SECRET)"
					: `Tenant "${endpoint.tenant.slug}" has no Slack app of its own (its installation has no signing secret)`,
			);
		}
		const problem = slackSignatureProblem(
			secret,
			{ timestamp: header("x-slack-request-timestamp"), signature: header("x-slack-signature") },
			rawBodies.get(request) ?? "",
			now(),
		);
		if (problem) throw new AppError("unauthenticated", "slack.bad_signature", problem);
		endpoints.set(request, endpoint);
	});
	const endpoint = (request: FastifyRequest) => endpoints.get(request)!;
	const tags = ["slack"];
	const tenantParams = z.object({ tenant: z.string().min(1).max(63) });

	for (const prefix of ["/api/v1/slack", "/api/v1/slack/t/:tenant"]) {
		const own = prefix.includes(":tenant");
		const params = own ? { params: tenantParams } : {};
		const whose = own ? " (a tenant's own Slack app)" : "";

		app.post(
			`${prefix}/interactions`,
			{
				config: { auth: "public" },
				schema: {
					tags,
					summary: `Slack interactivity${whose}: alert buttons, the knowledge-base prompt and modal (signed by Slack)`,
					...params,
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
				if (kind === "view_submission") {
					const parsed = viewSubmissionPayload.safeParse(json);
					if (!parsed.success) throw invalidPayload(parsed.error.issues, "view_submission");
					const { team, user, view } = parsed.data;
					const answer = await bot.interactions.viewSubmission(endpoint(request), {
						teamId: team.id,
						userId: user.id,
						callbackId: view.callback_id,
						privateMetadata: view.private_metadata,
						values: view.state.values,
					});
					return answer ? reply.send(answer) : reply.status(200).send();
				}
				// Shortcuts and modal closes need no answer.
				if (kind !== "block_actions") return reply.status(200).send();
				const parsed = blockActionsPayload.safeParse(json);
				if (!parsed.success) throw invalidPayload(parsed.error.issues, "block_actions");
				const payload = parsed.data;
				const action = payload.actions[0]!;
				const channel = payload.container?.channel_id;
				const ts = payload.container?.message_ts;
				await bot.interactions.blockAction(endpoint(request), {
					teamId: payload.team.id,
					userId: payload.user.id,
					actionId: action.action_id,
					value: action.value ?? "",
					actionTs: action.action_ts,
					message: channel && ts ? { channel, ts } : undefined,
					responseUrl: payload.response_url,
					triggerId: payload.trigger_id,
				});
				return reply.status(200).send();
			},
		);

		app.post(
			`${prefix}/commands`,
			{
				config: { auth: "public" },
				schema: {
					tags,
					summary: `The /opswatch slash command${whose} (signed by Slack)`,
					...params,
					body: slashCommand,
				},
			},
			async (request, reply) => {
				const body = request.body;
				const answer = await bot.command(endpoint(request), {
					teamId: body.team_id,
					userId: body.user_id,
					text: body.text,
					responseUrl: body.response_url,
					triggerId: body.trigger_id,
				});
				if (!answer) return reply.status(200).send();
				return {
					response_type: answer.inChannel ? "in_channel" : "ephemeral",
					text: answer.message.text,
					blocks: answer.message.blocks,
				};
			},
		);

		app.post(
			`${prefix}/events`,
			{
				config: { auth: "public" },
				schema: {
					tags,
					summary: `Slack Events API${whose}: url_verification, mentions of the bot and DMs to it (signed by Slack)`,
					...params,
					body: eventEnvelope,
				},
			},
			async (request, reply) => {
				const body = request.body;
				if (body.type === "url_verification") return { challenge: body.challenge };
				if (body.type === "app_rate_limited") return reply.status(200).send();
				// A retry (X-Slack-Retry-Num) of an event already handed over is answered and dropped.
				const accepted = await bot.events.accept(endpoint(request), {
					teamId: body.team_id,
					eventId: body.event_id,
					event: body.event,
				});
				if (!accepted) request.log.debug({ retry: request.headers["x-slack-retry-num"] }, "slack event seen before");
				return reply.status(200).send();
			},
		);
	}
};

const installationDto = (i: SlackInstallation) => ({
	...i,
	createdAt: i.createdAt.toISOString(),
	updatedAt: i.updatedAt.toISOString(),
});

const slackId = (what: string, pattern: RegExp) => z.string().regex(pattern, `must be a Slack ${what} id`);
const channelId = slackId("channel", /^[CG][A-Z0-9]{2,}$/);

/** Admins' routes: the tenant's Slack installation, and the OAuth install flow. */
export const slackAdminRoutes: FastifyPluginAsyncZod<{ bot: SlackBot }> = async (app, { bot }) => {
	const tags = ["slack"];
	const manage = { auth: { permission: "slack.manage" as const } };

	app.get(
		"/api/v1/slack/installation",
		{ config: manage, schema: { tags, summary: "The tenant's Slack workspace (never its secrets)" } },
		async (request) => ({
			installation: installationDto(await bot.installations.get(tenantPrincipal(request).tenant)),
		}),
	);

	app.put(
		"/api/v1/slack/installation",
		{
			config: manage,
			schema: {
				tags,
				summary: "Connects the tenant to a Slack workspace by hand (the OAuth flow does the same)",
				description:
					"`botToken` omitted keeps the stored one (null: use the deployment's OPSWATCH_SLACK_BOT_TOKEN); `signingSecret` is for a tenant that brings its own Slack app.",
				body: z
					.object({
						teamId: slackId("team", /^[TE][A-Z0-9]{2,}$/),
						teamName: z.string().max(200).nullish(),
						botUserId: slackId("user", /^[UWB][A-Z0-9]{2,}$/).nullish(),
						botToken: z
							.string()
							.regex(/^xox[bp]-/, "must be a Slack bot token (xoxb-…)")
							.nullish(),
						signingSecret: z.string().min(16).max(200).nullish(),
						alertChannel: channelId.nullish(),
						emergencyChannel: channelId.nullish(),
					})
					.strict(),
			},
		},
		async (request) => ({
			installation: installationDto(
				await bot.installations.put(tenantPrincipal(request).tenant, request.body, actorOf(request)),
			),
		}),
	);

	app.delete(
		"/api/v1/slack/installation",
		{ config: manage, schema: { tags, summary: "Disconnects the tenant from its Slack workspace" } },
		async (request, reply) => {
			await bot.installations.remove(tenantPrincipal(request).tenant, actorOf(request));
			return reply.status(204).send();
		},
	);

	app.get(
		"/api/v1/slack/oauth/install",
		{ config: manage, schema: { tags, summary: "Starts the OAuth install: redirects to Slack to approve the app" } },
		async (request, reply) => {
			if (!bot.oauth) {
				throw new AppError(
					"not_found",
					"slack.oauth_not_configured",
					"The Slack install flow needs OPSWATCH_SLACK_CLIENT_ID and OPSWATCH_SLACK_CLIENT_SECRET",
				);
			}
			return reply.redirect(bot.oauth.installUrl(tenantPrincipal(request).tenant), 302);
		},
	);

	app.get(
		"/api/v1/slack/oauth/callback",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "Slack's redirect after approval: stores the workspace's installation",
				querystring: z
					.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() })
					.loose(),
			},
		},
		async (request, reply) => {
			if (!bot.oauth)
				throw new AppError("not_found", "slack.oauth_not_configured", "The Slack install flow is not configured");
			const { tenant, installation } = await bot.oauth.callback(request.query);
			const workspace = escapeHtml(installation.teamName ?? installation.teamId);
			return reply
				.type("text/html; charset=utf-8")
				.send(
					`<!doctype html><meta charset="utf-8"><title>OpsWatch · Slack connected</title><p>Slack workspace <b>${workspace}</b> is now connected to OpsWatch tenant <b>${escapeHtml(tenant.slug)}</b>. You can close this page.</p>`,
				);
		},
	);
};

function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
