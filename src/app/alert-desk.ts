import type { AlertApi } from "../alert/index.ts";
import type { AlertDesk } from "../escalation/index.ts";
import { isAppError } from "../platform/errors.ts";

/**
 * The alert domain as the escalation engine needs it: an alert as a page shows it (with the
 * knowledge base's fix and runbook as links under OpsWatch's public address), and its timeline.
 */
export function alertDesk(alerts: AlertApi, publicUrl: string): AlertDesk {
	return {
		async view(tenant, alertId) {
			let found: Awaited<ReturnType<AlertApi["get"]>>;
			try {
				found = await alerts.get(tenant, alertId);
			} catch (error) {
				if (isAppError(error) && error.kind === "not_found") return undefined;
				throw error;
			}
			const { alert, knowledgeBase } = found;
			const runbook = knowledgeBase?.runbooks[0];
			return {
				status: alert.status,
				message: {
					id: alert.id,
					title: alert.title,
					severity: alert.severity,
					labels: alert.labels,
					solution: knowledgeBase?.solution || null,
					runbookUrl: runbook ? `${publicUrl}/runbooks/${runbook.id}` : null,
					url: `${publicUrl}/alerts/${alert.id}`,
				},
			};
		},
		async acknowledge(tenant, alertId, by, via) {
			await alerts.acknowledge(tenant, alertId, by, via);
		},
		recordTimeline: (tenant, events) => alerts.recordTimeline(tenant, events),
	};
}
