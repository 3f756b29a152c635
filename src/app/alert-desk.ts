import { type AlertApi, alertPageView, pagingSeverities } from "../alert/index.ts";
import type { AlertDesk } from "../escalation/index.ts";
import type { KnowledgeBaseApi } from "../incident/index.ts";

/**
 * The alert domain as the escalation engine needs it: an alert as a page shows it (with the
 * knowledge base's fix and runbook as links under OpsWatch's public address), and its timeline.
 */
export function alertDesk(
	alerts: AlertApi,
	knowledgeBase: Pick<KnowledgeBaseApi, "pendingPromptOf">,
	publicUrl: string,
): AlertDesk {
	return {
		async firingPaging(tenant, since, until) {
			// `since` bounds last_seen; `until` bounds first_seen (a repeating alert stays recent).
			const page = await alerts.list(tenant, {
				status: ["firing"],
				severity: [...pagingSeverities],
				since,
				limit: 1000,
			});
			return page.alerts.filter((alert) => alert.firstSeenAt <= until);
		},
		async views(tenant, alertIds) {
			const found = await alerts.views(tenant, alertIds);
			return new Map(
				[...found].map(([id, { alert, knowledgeBase }]) => {
					const message = alertPageView(alert, knowledgeBase, publicUrl);
					const by = alert.status === "resolved" ? alert.resolvedBy : alert.acknowledgedBy;
					return [id, { status: alert.status, message, by, notes: alert.resolutionNotes }];
				}),
			);
		},
		async acknowledge(tenant, alertId, by, via) {
			await alerts.acknowledge(tenant, alertId, by, via);
		},
		recordTimeline: (tenant, events) => alerts.recordTimeline(tenant, events),
		kbPromptOf: async (tenant, alertId) => (await knowledgeBase.pendingPromptOf(tenant, alertId))?.id,
	};
}
