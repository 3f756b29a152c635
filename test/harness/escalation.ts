import type { EscalationStarter } from "../../src/alert/index.ts";

/**
 * Stands in for the escalation engine, which another domain will provide: records what the
 * pipeline asked it to start and stop (the boundary the alert domain pages through).
 */
export function recordingEscalation() {
	const started: { tenant: string; alertId: string; severity: string; title: string }[] = [];
	const stopped: { tenant: string; alertId: string; reason: string }[] = [];
	const starter: EscalationStarter = {
		async start(tenant, alerts) {
			for (const alert of alerts) {
				started.push({ tenant: tenant.slug, alertId: alert.id, severity: alert.severity, title: alert.title });
			}
		},
		async stop(tenant, alertId, reason) {
			stopped.push({ tenant: tenant.slug, alertId, reason });
		},
	};
	return { starter, started, stopped };
}
