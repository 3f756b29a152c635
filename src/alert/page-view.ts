import type { KnowledgeBaseEntryView } from "./service.ts";
import type { Alert } from "./store.ts";

/** An alert as a page shows it (Slack, a call, an SMS, a push): the fix and links under OpsWatch's address. */
export interface AlertPageView {
	id: string;
	title: string;
	severity: string;
	labels: Record<string, string>;
	/** The knowledge base's known fix (markdown), when the alert matched an entry. */
	solution: string | null;
	/** The first runbook the entry links, as an absolute URL. */
	runbookUrl: string | null;
	/** The alert in OpsWatch, as an absolute URL. */
	url: string;
}

export function alertPageView(
	alert: Pick<Alert, "id" | "title" | "severity" | "labels">,
	knowledgeBase: KnowledgeBaseEntryView | undefined,
	publicUrl: string,
): AlertPageView {
	const runbook = knowledgeBase?.runbooks[0];
	return {
		id: alert.id,
		title: alert.title,
		severity: alert.severity,
		labels: alert.labels,
		solution: knowledgeBase?.solution || null,
		runbookUrl: runbook ? `${publicUrl}/runbooks/${runbook.id}` : null,
		url: `${publicUrl}/alerts/${alert.id}`,
	};
}
