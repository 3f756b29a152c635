/** The alert domain: ingestion pipeline, dedup, lifecycle. Other code imports only this. */

export { createDedupWindow, type DedupWindow } from "./dedup.ts";
export { type AlertRoutesOptions, alertRoutes, alertRuleRoutes, alertStatsRoutes } from "./handler.ts";
export { type AlertMetrics, createAlertMetrics } from "./metrics.ts";
export { type AlertPageView, alertPageView } from "./page-view.ts";
export { assertValidMatchers, type LabelMatcher, labelMatcherSchema, matchesAll, type SeverityRule } from "./rules.ts";
export { createSeverityRuleService, type SeverityRuleApi } from "./rules-service.ts";
export {
	type AlertApi,
	type AlertResolution,
	type AlertServiceDeps,
	alertTopic,
	createAlertService,
	type EscalationStarter,
	type IngestOutcome,
	type IngestResult,
	type KnowledgeBaseEntryView,
	type KnowledgeBaseMatch,
	type KnowledgeBaseSearcher,
	type Responder,
	type WebhookBody,
} from "./service.ts";
export { pagingSeverities } from "./severity.ts";
export type { Alert, AlertEvent } from "./store.ts";
export {
	type AlertSource,
	type AlertStatus,
	alertSources,
	alertStatuses,
	type IncomingAlert,
	labelMap,
	labelText,
	MAX_LABEL_BYTES,
	rfc3339,
	type Severity,
	senderFingerprint,
	severities,
} from "./types.ts";
