import { createHash, randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AlertApi, IncomingAlert } from "../alert/index.ts";
import { AppError } from "../platform/errors.ts";
import { tenantPrincipal } from "../tenant/index.ts";
import { alertmanagerPayload, fromAlertmanager } from "./alertmanager.ts";
import { fromGeneric, genericPayload } from "./generic.ts";
import { fromKeep, keepPayload } from "./keep.ts";
import { asArray } from "./one-or-many.ts";
import { fromPagerDuty, pagerDutyErrorBody, pagerDutyEvent, pagerDutyResponse } from "./pagerduty.ts";

export interface WebhookRoutesOptions {
	alerts: Pick<AlertApi, "ingest">;
	/** Most alerts one request may carry (OPSWATCH_MAX_ALERTS_PER_REQUEST). */
	maxAlertsPerRequest: number;
}

export const ingestResponse = z
	.object({
		alerts: z.array(
			z.object({
				fingerprint: z.string(),
				alertId: z.uuid().nullable(),
				outcome: z.enum(["created", "deduplicated", "resolved", "acknowledged", "ignored"]),
			}),
		),
	})
	.meta({ id: "IngestResult", description: "What happened to each alert of the request, in order" });

export const webhookRoutes: FastifyPluginAsyncZod<WebhookRoutesOptions> = async (app, options) => {
	const tags = ["webhooks"];
	const config = { auth: { permission: "alerts.ingest" as const } };

	const checkCount = (count: number, path: string) => {
		if (count > options.maxAlertsPerRequest) {
			const message = `At most ${options.maxAlertsPerRequest} alerts per request; this one has ${count}`;
			throw new AppError("validation", "webhook.too_many_alerts", message, { fields: [{ path, message }] });
		}
	};

	app.post(
		"/api/v1/webhooks/alertmanager",
		{
			config,
			schema: {
				tags,
				summary: "Alertmanager webhook receiver (format version 4)",
				description:
					"Point an Alertmanager `webhook_configs` entry here with `http_config.authorization.credentials` " +
					"set to an OpsWatch API key. Each alert of a group becomes its own OpsWatch alert.",
				body: alertmanagerPayload,
				response: { 200: ingestResponse },
			},
		},
		async (request) => {
			checkCount(request.body.alerts.length, "body.alerts");
			return ingest(request, fromAlertmanager(request.body), "alertmanager");
		},
	);

	const oneOrMany = async (request: FastifyRequest) => {
		request.body = asArray(request.body);
	};

	app.post(
		"/api/v1/webhooks/generic",
		{
			config,
			preValidation: oneOrMany,
			schema: {
				tags,
				summary: "Generic JSON webhook: one alert or an array of alerts",
				description:
					"OpsWatch's own format for any sender. Without `fingerprint`, an alert is identified by a hash of " +
					"its sorted labels. The body may be a single alert object or an array of them.",
				body: genericPayload,
				response: { 200: ingestResponse },
			},
		},
		async (request) => {
			checkCount(request.body.length, "body");
			return ingest(request, fromGeneric(request.body), "generic");
		},
	);

	app.post(
		"/api/v1/webhooks/keep",
		{
			config,
			preValidation: oneOrMany,
			schema: {
				tags,
				summary: "Keep webhook receiver (AlertDto, one or an array)",
				body: keepPayload,
				response: { 200: ingestResponse },
			},
		},
		async (request) => {
			checkCount(request.body.length, "body");
			return ingest(request, fromKeep(request.body), "keep");
		},
	);

	app.post(
		"/api/v1/webhooks/pagerduty",
		{
			config: { auth: { permission: "alerts.ingest", credentialInBody: "routing_key" } },
			schema: {
				tags,
				summary: "PagerDuty Events API v2 compatible endpoint",
				description:
					"Send what you sent to `https://events.pagerduty.com/v2/enqueue`, with an OpsWatch API key as " +
					"`routing_key` (or in a header). Answers as PagerDuty does: 202 with the dedup_key.",
				body: pagerDutyEvent,
				response: {
					202: z.object({ status: z.literal("success"), message: z.string(), dedup_key: z.string() }),
				},
			},
			// PagerDuty senders read `status`/`errors`; OpsWatch clients read `error`: a 400 carries both.
			onSend: async (_request, reply, payload) => {
				if (reply.statusCode !== 400 || typeof payload !== "string") return payload;
				const body = JSON.parse(payload) as {
					error: { message: string; fields?: { path: string; message: string }[] };
				};
				const errors = body.error.fields?.map((f) => `${f.path}: ${f.message}`) ?? [body.error.message];
				return JSON.stringify({ ...pagerDutyErrorBody(errors), ...body });
			},
		},
		async (request, reply) => {
			// The dedup key is scoped to the routing key it came with; a hash, so the key never lands in the database.
			const scope = createHash("sha256").update(request.body.routing_key).digest("hex").slice(0, 16);
			const { alert, dedupKey } = fromPagerDuty(request.body, { scope, generateDedupKey: randomUUID });
			await ingest(request, [alert], "pagerduty");
			return reply.status(202).send(pagerDutyResponse(dedupKey));
		},
	);

	function ingest(request: FastifyRequest, alerts: IncomingAlert[], sender: string) {
		const principal = tenantPrincipal(request);
		return options.alerts.ingest(principal.tenant, alerts, `${sender}:${principal.id}`);
	}
};
