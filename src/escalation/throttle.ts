import type { NotificationAlert } from "./channels.ts";
import type { NotificationChannel } from "./outbox-store.ts";

/**
 * How many pages one phone number takes per window and channel. In an alert storm, pages beyond it
 * wait for the window to free up and then go out together as one message (a bundle), so nobody
 * gets 200 SMS; Slack, push and the inbox are not throttled.
 */
export const THROTTLES: Partial<Record<NotificationChannel, { limit: number; windowMs: number }>> = {
	sms: { limit: 3, windowMs: 10 * 60_000 },
	phone: { limit: 2, windowMs: 10 * 60_000 },
};

const severityOrder = ["critical", "major", "minor", "warning", "info"];

/** One page standing for several: the most severe first, titles listed, a link to all open alerts. */
export function bundleAlert(alerts: NotificationAlert[], alertsUrl: string): NotificationAlert {
	const sorted = [...alerts].sort((a, b) => severityOrder.indexOf(a.severity) - severityOrder.indexOf(b.severity));
	const lead = sorted[0]!;
	return {
		id: lead.id,
		title: `${alerts.length} alerts: ${sorted.map((a) => a.title).join("; ")}`,
		severity: lead.severity,
		labels: {},
		solution: null,
		runbookUrl: null,
		url: alertsUrl,
	};
}
