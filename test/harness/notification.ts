import type { OutgoingNotification } from "../../src/escalation/channels.ts";

/** The alert every channel test pages about: a full disk with a known fix. */
export const diskFull: OutgoingNotification["alert"] = {
	id: "alt-1",
	title: "Disk full on db-1",
	severity: "critical",
	labels: { host: "db-1", service: "postgres" },
	solution: "Rotate the **WAL archive** with `pg_archivecleanup`.",
	runbookUrl: null,
	url: "https://opswatch.example.com/alerts/alt-1",
};

/** A notification as the outbox hands it to a channel; tests override what they are about. */
export function outgoingNotification(
	overrides: Partial<Omit<OutgoingNotification, "alert">> & { alert?: Partial<OutgoingNotification["alert"]> } = {},
): OutgoingNotification {
	const { alert, ...rest } = overrides;
	return {
		id: "ntf-1",
		key: "esc-1:0:1:mem-1:sms",
		tenant: { id: "ten-1", slug: "acme", schema: "tenant_acme" },
		destination: "+447700900123",
		ackCode: "K7Q2",
		claimedAt: new Date("2026-11-26T03:00:00Z"),
		...rest,
		alert: { ...diskFull, ...alert },
	};
}
