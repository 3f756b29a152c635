import { isUtf8 } from "node:buffer";
import { hash, randomUUID } from "node:crypto";
import type { FastifyBodyParser, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { type AlertApi, alertSources, type IncomingAlert, type WebhookBody } from "../alert/index.ts";
import { AppError } from "../platform/errors.ts";
import { inSpan, inSyncSpan } from "../platform/tracing.ts";
import { actorOf, type TenantApi, tenantPrincipal } from "../tenant/index.ts";
import { alertmanagerPayload, fromAlertmanager } from "./alertmanager.ts";
import { fromGeneric, genericPayload } from "./generic.ts";
import { fromKeep, keepPayload } from "./keep.ts";
import { asArray } from "./one-or-many.ts";
import { fromPagerDuty, pagerDutyErrorBody, pagerDutyEvent, pagerDutyResponse } from "./pagerduty.ts";

export interface WebhookRoutesOptions {
	alerts: Pick<AlertApi, "ingest">;
	tenants: Pick<TenantApi, "createApiKey">;
	/** Most alerts one request may carry (OPSWATCH_MAX_ALERTS_PER_REQUEST). */
	maxAlertsPerRequest: number;
	/** The server's JSON body parser (its errors and checks), which the webhooks wrap to keep the text. */
	parseJson: FastifyBodyParser<string>;
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
	// The key may also travel in the path, for senders that can set no header (an integration key).
	const config = { auth: { permission: "alerts.ingest" as const, credentialInPath: "token" } };
	// Only the path that holds the key declares it: the other has no parameter to validate on every request.
	const tokenParam = z.object({
		token: z.string().meta({ description: "An integration key, for senders that can set no header" }),
	});
	const paramsOf = (url: string) => (url.endsWith("/:token") ? { params: tokenParam } : {});

	// A webhook's body is kept as the bytes that arrived (ADR 0008), so the JSON parser keeps them;
	// the parsing itself (errors, prototype-poisoning and Unicode checks) is the server's.
	const bodies = new WeakMap<FastifyRequest, Buffer>();
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
		const bytes = body as Buffer;
		const text = bytes.toString();
		// Bytes that aren't UTF-8 decode to U+FFFD: keep the text that was parsed, which PostgreSQL takes.
		bodies.set(request, isUtf8(bytes) ? bytes : Buffer.from(text));
		options.parseJson(request, text, done);
	});
	/**
	 * The request's body to keep for its alerts, with where each alert lies in it: under `alerts`
	 * (Alertmanager), or as the body's items (Keep and the generic format send an array of alerts,
	 * or one alert, taken as an array of one).
	 */
	const keptBody = (request: FastifyRequest, layout: "alerts" | "items"): WebhookBody | undefined => {
		const bytes = bodies.get(request);
		if (bytes === undefined) return undefined;
		if (layout === "alerts") return { bytes, pathOf: (i) => ["alerts", String(i)] };
		const array = startsWithArray(bytes);
		return { bytes, pathOf: (i) => (array ? [String(i)] : []) };
	};

	// The ingest result is our own object, typed by TypeScript: it is written as it is, not encoded
	// through zod first (a 50-alert answer checked 50 UUIDs and enums on every request).
	const asJson = () => (data: unknown) => JSON.stringify(data);

	/** Each receiver answers with the key in a header, and with an integration key in the path. */
	const webhookUrls = (name: string) => [`/api/v1/webhooks/${name}`, `/api/v1/webhooks/${name}/:token`];

	const checkCount = (count: number, path: string) => {
		if (count > options.maxAlertsPerRequest) {
			const message = `At most ${options.maxAlertsPerRequest} alerts per request; this one has ${count}`;
			throw new AppError("validation", "webhook.too_many_alerts", message, { fields: [{ path, message }] });
		}
	};

	for (const url of webhookUrls("alertmanager"))
		app.post(
			url,
			{
				config,
				schema: {
					tags,
					summary: "Alertmanager webhook receiver (format version 4)",
					description:
						"Point an Alertmanager `webhook_configs` entry here with `http_config.authorization.credentials` " +
						"set to an OpsWatch API key. Each alert of a group becomes its own OpsWatch alert.",
					...paramsOf(url),
					body: alertmanagerPayload,
					response: { 200: ingestResponse },
				},
				serializerCompiler: asJson,
			},
			async (request) => {
				checkCount(request.body.alerts.length, "body.alerts");
				return ingest(request, () => fromAlertmanager(request.body), "alertmanager", keptBody(request, "alerts"));
			},
		);

	// A body sent as one alert object has its errors named as sent (`body.title`, not `body.0.title`).
	const sentAsOneObject = new WeakSet<FastifyRequest>();
	const wrapOneAlert = async (request: FastifyRequest) => {
		const wrapped = asArray(request.body);
		if (wrapped === request.body) return;
		sentAsOneObject.add(request);
		request.body = wrapped;
	};
	const bodyPathAsSent = (request: FastifyRequest, segments: string[]) =>
		sentAsOneObject.has(request) && segments[0] === "0" ? segments.slice(1) : segments;
	const oneOrManyConfig = { ...config, bodyPathAsSent };

	for (const url of webhookUrls("generic"))
		app.post(
			url,
			{
				config: oneOrManyConfig,
				preValidation: wrapOneAlert,
				schema: {
					tags,
					summary: "Generic JSON webhook: one alert or an array of alerts",
					description:
						"OpsWatch's own format for any sender. Without `fingerprint`, an alert is identified by a hash of " +
						"its sorted labels. The body may be a single alert object or an array of them.",
					...paramsOf(url),
					body: genericPayload,
					response: { 200: ingestResponse },
				},
				serializerCompiler: asJson,
			},
			async (request) => {
				checkCount(request.body.length, "body");
				return ingest(request, () => fromGeneric(request.body), "generic", keptBody(request, "items"));
			},
		);

	for (const url of webhookUrls("keep"))
		app.post(
			url,
			{
				config: oneOrManyConfig,
				preValidation: wrapOneAlert,
				schema: {
					tags,
					summary: "Keep webhook receiver (AlertDto, one or an array)",
					...paramsOf(url),
					body: keepPayload,
					response: { 200: ingestResponse },
				},
				serializerCompiler: asJson,
			},
			async (request) => {
				checkCount(request.body.length, "body");
				return ingest(request, () => fromKeep(request.body), "keep", keptBody(request, "items"));
			},
		);

	for (const url of webhookUrls("pagerduty"))
		app.post(
			url,
			{
				config: { auth: { ...config.auth, credentialInBody: "routing_key" } },
				schema: {
					tags,
					summary: "PagerDuty Events API v2 compatible endpoint",
					description:
						"Send what you sent to `https://events.pagerduty.com/v2/enqueue`, with an OpsWatch API key as " +
						"`routing_key` (or in a header). Answers as PagerDuty does: 202 with the dedup_key.",
					...paramsOf(url),
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
				const scope = hash("sha256", request.body.routing_key, "hex").slice(0, 16);
				const { alert, dedupKey } = fromPagerDuty(request.body, { scope, generateDedupKey: randomUUID });
				// Not its body: that holds the routing key, a credential. The alert keeps its event without it.
				await ingest(request, () => [alert], "pagerduty");
				return reply.status(202).send(pagerDutyResponse(dedupKey));
			},
		);

	/** Translates the sender's payload (the `webhook.parse` span) and runs it through the pipeline. */
	function ingest(request: FastifyRequest, parse: () => IncomingAlert[], sender: string, body?: WebhookBody) {
		const principal = tenantPrincipal(request);
		if (principal.type === "api_key" && principal.integration && principal.integration !== sender) {
			throw new AppError(
				"forbidden",
				"webhook.wrong_integration",
				`This key is for the ${principal.integration} webhook, not ${sender}`,
			);
		}
		return inSpan(`webhook.${sender}`, { tenant: principal.tenant.slug, request_id: request.id }, () => {
			const alerts = inSyncSpan("webhook.parse", {}, parse);
			// The alerts are all the pipeline needs of the parsed body: let it go now, not when the
			// answer is sent, so that a request waiting for its batch does not hold it (ADR 0008).
			request.body = undefined;
			return options.alerts.ingest(principal.tenant, alerts, `${sender}:${principal.id}`, body);
		});
	}

	app.post(
		"/api/v1/integrations",
		{
			config: { auth: { permission: "apikeys.manage" } },
			schema: {
				tags,
				summary: "Create an integration key: a URL that one sender can post its alerts to",
				description:
					"For senders that can set no header. The key in the URL only sends alerts to that webhook; " +
					"it is shown once, listed under /api/v1/api-keys and revoked there.",
				body: z.object({ source: z.enum(alertSources), description: z.string().max(200).optional() }).strict(),
				response: {
					201: z.object({
						url: z.string().meta({ description: "Path to configure in the sender (contains the key)" }),
						key: z.string(),
						apiKeyId: z.uuid(),
					}),
				},
			},
		},
		async (request, reply) => {
			const principal = tenantPrincipal(request);
			const { key, apiKey } = await options.tenants.createApiKey(
				{
					tenantSlug: principal.tenant.slug,
					role: "engineer",
					integration: request.body.source,
					description: request.body.description ?? `${request.body.source} integration`,
				},
				actorOf(request),
			);
			return reply
				.status(201)
				.send({ url: `/api/v1/webhooks/${request.body.source}/${key}`, key, apiKeyId: apiKey.id });
		},
	);
};

/** JSON whitespace: space, tab, line feed, carriage return. */
const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Whether a JSON text is an array: its first byte after whitespace is `[`. */
function startsWithArray(bytes: Buffer): boolean {
	for (const byte of bytes) if (!JSON_WHITESPACE.has(byte)) return byte === 0x5b;
	return false;
}
