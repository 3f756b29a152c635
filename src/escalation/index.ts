/** The escalation domain: policies, the engine, notifications. Other code imports only this. */

export type { NotificationAlert } from "./channels.ts";
export type { AlertDesk } from "./engine.ts";
export {
	createEscalationService,
	type EscalationApi,
	type EscalationRoutes,
	type EscalationServiceDeps,
	WAKE_TOPIC,
} from "./escalations.ts";
export { escalationPolicyRoutes, escalationRoutes } from "./handler.ts";
export { createHandoffAnnouncer } from "./handoff-announcer.ts";
export { createEscalationMetrics, type EscalationMetrics } from "./metrics.ts";
export { planEscalation, type TargetResolver } from "./plan.ts";
export { createPolicyService, type PolicyApi, type PolicyServiceDeps } from "./policies.ts";
export { createSenders, type ProviderSettings, type Senders } from "./providers.ts";
export { rosterResolver } from "./resolver.ts";
export { twilioWebhookRoutes, vonageWebhookRoutes } from "./telephony/handler.ts";
export { countOverdue } from "./timers.ts";
export type { PlannedStep, Policy, PolicyInput } from "./types.ts";
