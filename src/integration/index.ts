/** Integrations: sender formats (Alertmanager, Keep, generic, PagerDuty) translated into alerts. */
export { type WebhookRoutesOptions, webhookRoutes } from "./handler.ts";
