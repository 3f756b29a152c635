/** The escalation domain: policies, the engine, notifications. Other code imports only this. */

export { escalationPolicyRoutes } from "./handler.ts";
export { planEscalation, type TargetResolver } from "./plan.ts";
export { createPolicyService, type PolicyApi, type PolicyServiceDeps } from "./policies.ts";
export type { PlannedStep, Policy, PolicyInput } from "./types.ts";
