import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AlertApi, IncomingAlert } from "../alert/index.ts";
import { AppError } from "../platform/errors.ts";
import { tenantPrincipal } from "../tenant/index.ts";
import { alertmanagerPayload, fromAlertmanager } from "./alertmanager.ts";

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

	function ingest(request: Parameters<typeof tenantPrincipal>[0], alerts: IncomingAlert[], sender: string) {
		const principal = tenantPrincipal(request);
		return options.alerts.ingest(principal.tenant, alerts, `${sender}:${principal.id}`);
	}
};
