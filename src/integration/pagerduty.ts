/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/), so
 * anything that can page PagerDuty can page OpsWatch by changing the URL and the routing key:
 *
 * ```json
 * {
 *   "routing_key": "<an OpsWatch API key>",
 *   "event_action": "trigger",
 *   "dedup_key": "srv01/HTTP",
 *   "payload": {
 *     "summary": "DISK at 99% on machine prod-datapipe03.example.com",
 *     "source": "prod-datapipe03.example.com", "severity": "critical",
 *     "timestamp": "2026-11-26T13:20:17.000+00:00",
 *     "component": "mysql", "group": "prod-datapipe", "class": "disk",
 *     "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
 *   },
 *   "client": "Sample Monitoring Service", "client_url": "https://monitoring.example.com",
 *   "links": [{"href": "https://example.com/", "text": "Link text"}],
 *   "images": [{"src": "https://example.com/graph.png", "href": "https://example.com/", "alt": "graph"}]
 * }
 * ```
 *
 * `acknowledge` and `resolve` carry only `routing_key`, `event_action` and the `dedup_key` of the
 * alert they change. A trigger without `dedup_key` gets one generated, returned to the sender as
 * PagerDuty does. PagerDuty answers 202 with {@link pagerDutyResponse} and 400 with
 * {@link pagerDutyErrorBody}. Dedup keys are per routing key in PagerDuty, so the fingerprint is the
 * dedup key scoped by the caller's key ({@link fingerprintForDedupKey}). The routing key (here an
 * OpsWatch API key, a secret) is never copied into the alert. Unknown fields are accepted and kept
 * in the raw payload.
 */
import { hash } from "node:crypto";
import { z } from "zod";
import { type IncomingAlert, labelText, rfc3339, type Severity } from "../alert/index.ts";

export const pagerDutyActions = ["trigger", "acknowledge", "resolve"] as const;
export const pagerDutySeverities = ["critical", "error", "warning", "info"] as const;

/** Text stored as-is in PostgreSQL `text`, which refuses NUL bytes. */
const text = () => z.string().refine((value) => !value.includes("\u0000"), { message: "must not contain NUL bytes" });

const dedupKey = z.string().min(1).max(255);

export const pagerDutyPayload = z.looseObject(
	{
		summary: text().min(1).max(1024),
		source: labelText.min(1),
		severity: z.enum(pagerDutySeverities),
		timestamp: rfc3339.optional(),
		component: labelText.optional(),
		group: labelText.optional(),
		class: labelText.optional(),
		custom_details: z.record(z.string(), z.unknown()).optional(),
	},
	{
		error: (issue) =>
			issue.code === "invalid_type" && issue.input === undefined
				? 'payload is required when event_action is "trigger"'
				: undefined,
	},
);

const common = {
	routing_key: z.string().min(1).max(256),
	dedup_key: dedupKey.optional(),
	client: z.string().optional(),
	client_url: z.string().max(8192).optional(),
	links: z.array(z.looseObject({ href: z.string(), text: z.string().optional() })).optional(),
	images: z
		.array(z.looseObject({ src: z.string(), href: z.string().optional(), alt: z.string().optional() }))
		.optional(),
};

const triggerEvent = z.looseObject({ ...common, event_action: z.literal("trigger"), payload: pagerDutyPayload });

const changeEvent = z.looseObject({
	...common,
	event_action: z.enum(["acknowledge", "resolve"]),
	dedup_key: z
		.string({
			error: (issue) =>
				issue.input === undefined ? 'dedup_key is required when event_action is "acknowledge" or "resolve"' : undefined,
		})
		.min(1)
		.max(255),
});

export const pagerDutyEvent = z
	.discriminatedUnion("event_action", [triggerEvent, changeEvent], {
		error: (issue) =>
			issue.code === "invalid_union"
				? `event_action must be one of ${pagerDutyActions.map((action) => `"${action}"`).join(", ")}`
				: undefined,
	})
	.meta({ id: "PagerDutyEvent", description: "PagerDuty Events API v2 event" });

export type PagerDutyEvent = z.infer<typeof pagerDutyEvent>;

/**
 * The fingerprint of a PagerDuty dedup key: `pd:` + the first 32 hex digits (128 bits) of
 * sha256(scope + "\n" + dedupKey). PagerDuty scopes dedup keys to their routing key, so the same
 * dedup_key sent with two keys must be two alerts; `scope` is something stable identifying the
 * routing key, such as the API key's id (never the secret itself, which must not be derivable from
 * stored data and would change on rotation). A scope may not contain "\n", which keeps the
 * encoding unambiguous whatever the dedup key holds.
 */
export function fingerprintForDedupKey(routingKeyScope: string, dedupKey: string): string {
	if (routingKeyScope === "" || routingKeyScope.includes("\n")) {
		throw new Error("the dedup key scope must be non-empty and must not contain a newline");
	}
	const digest = hash("sha256", `${routingKeyScope}\n${dedupKey}`, "hex");
	return `pd:${digest.slice(0, 32)}`;
}

const severityMap: Record<(typeof pagerDutySeverities)[number], Severity> = {
	critical: "critical",
	error: "major",
	warning: "warning",
	info: "info",
};

/** Top-level scalar custom details as strings; nested values (and oversized ones) stay in raw only. */
function annotationsOf(details: Record<string, unknown> | undefined): Record<string, string> {
	const annotations: Record<string, string> = {};
	for (const [key, value] of Object.entries(details ?? {})) {
		if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") continue;
		const text = String(value);
		if (labelText.safeParse(key).success && labelText.safeParse(text).success) {
			annotations[key] = text;
		}
	}
	return annotations;
}

export interface PagerDutyOptions {
	/** Stable identity of the routing key the event came with (e.g. the API key's id, not the key). */
	scope: string;
	/** A new dedup key for a trigger that has none. */
	generateDedupKey: () => string;
}

export function fromPagerDuty(
	event: PagerDutyEvent,
	options: PagerDutyOptions,
): { alert: IncomingAlert; dedupKey: string } {
	const { routing_key: _secret, ...raw } = event;
	if (event.event_action !== "trigger") {
		return {
			dedupKey: event.dedup_key,
			alert: {
				source: "pagerduty",
				fingerprint: fingerprintForDedupKey(options.scope, event.dedup_key),
				status: event.event_action === "acknowledge" ? "acknowledged" : "resolved",
				// These events only change an existing alert: the dedup key stands in for a title.
				title: event.dedup_key,
				description: "",
				labels: {},
				annotations: {},
				generatorUrl: event.client_url,
				raw,
				changeOnly: true,
			},
		};
	}
	const { payload } = event;
	const dedupKey = event.dedup_key ?? options.generateDedupKey();
	const labels: Record<string, string> = { source: payload.source };
	if (payload.component !== undefined) labels.component = payload.component;
	if (payload.group !== undefined) labels.group = payload.group;
	if (payload.class !== undefined) labels.class = payload.class;
	return {
		dedupKey,
		alert: {
			source: "pagerduty",
			fingerprint: fingerprintForDedupKey(options.scope, dedupKey),
			status: "firing",
			severity: severityMap[payload.severity],
			title: payload.summary,
			description: payload.custom_details === undefined ? "" : JSON.stringify(payload.custom_details, null, 2),
			labels,
			annotations: annotationsOf(payload.custom_details),
			startsAt: payload.timestamp,
			generatorUrl: event.client_url,
			raw,
		},
	};
}

/** PagerDuty's body for an accepted event (sent with 202 Accepted). */
export function pagerDutyResponse(dedupKey: string): {
	status: "success";
	message: "Event processed";
	dedup_key: string;
} {
	return { status: "success", message: "Event processed", dedup_key: dedupKey };
}

/** PagerDuty's body for a rejected event (sent with 400 Bad Request). */
export function pagerDutyErrorBody(errors: string[]): {
	status: "invalid event";
	message: "Event object is invalid";
	errors: string[];
} {
	return { status: "invalid event", message: "Event object is invalid", errors };
}
