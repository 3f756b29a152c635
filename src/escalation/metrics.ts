import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { TenantRef } from "../tenant/index.ts";

/** The escalation metrics of spec §9.1, plus the engine's own health. */
export interface EscalationMetrics {
	tierFired(tenant: TenantRef, tier: number): void;
	/** From the escalation's start to its acknowledgement, labelled with the tier it had reached. */
	responded(tenant: TenantRef, tier: number, seconds: number): void;
	notified(tenant: TenantRef, channel: string, outcome: "sent" | "retried" | "failed"): void;
	/** How late a timer was acted on, from its instant. */
	lateness(loop: "escalation" | "notification", seconds: number): void;
	cycle(loop: "escalation" | "notification", seconds: number): void;
}

export function createEscalationMetrics(registry: Registry, overdue: () => Promise<number>): EscalationMetrics {
	const escalated = new Counter({
		name: "opswatch_alerts_escalated_total",
		help: "Escalation tiers fired, by tenant and tier (1-based)",
		labelNames: ["tenant", "tier"] as const,
		registers: [registry],
	});
	const response = new Histogram({
		name: "opswatch_escalation_response_time_seconds",
		help: "Time from an escalation's start to its acknowledgement, by the tier reached (1-based)",
		labelNames: ["tenant", "tier"] as const,
		buckets: [10, 30, 60, 120, 300, 600, 900, 1800, 3600],
		registers: [registry],
	});
	const slack = new Counter({
		name: "opswatch_slack_notifications_total",
		help: "Slack messages sent by the escalation engine, by type (dm, channel)",
		labelNames: ["tenant", "type"] as const,
		registers: [registry],
	});
	const notifications = new Counter({
		name: "opswatch_notifications_total",
		help: "Notification deliveries by channel and outcome (sent, retried, failed)",
		labelNames: ["tenant", "channel", "outcome"] as const,
		registers: [registry],
	});
	const lateness = new Histogram({
		name: "opswatch_escalation_lateness_seconds",
		help: "How long after its instant a tier fired or a notification was delivered",
		labelNames: ["loop"] as const,
		buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60],
		registers: [registry],
	});
	const cycle = new Histogram({
		name: "opswatch_escalation_cycle_duration_seconds",
		help: "Duration of one engine cycle (a batch of due timers)",
		labelNames: ["loop"] as const,
		buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
		registers: [registry],
	});
	new Gauge({
		name: "opswatch_escalation_overdue_timers",
		help: "Escalation and notification timers more than 5 s past their instant without action (must stay 0)",
		registers: [registry],
		async collect() {
			this.set(await overdue());
		},
	});
	return {
		tierFired: (tenant, tier) => escalated.inc({ tenant: tenant.slug, tier: String(tier + 1) }),
		responded: (tenant, tier, seconds) => response.observe({ tenant: tenant.slug, tier: String(tier + 1) }, seconds),
		notified(tenant, channel, outcome) {
			notifications.inc({ tenant: tenant.slug, channel, outcome });
			if (outcome === "sent" && (channel === "slack_dm" || channel === "slack_channel")) {
				slack.inc({ tenant: tenant.slug, type: channel === "slack_dm" ? "dm" : "channel" });
			}
		},
		lateness: (loop, seconds) => lateness.observe({ loop }, seconds),
		cycle: (loop, seconds) => cycle.observe({ loop }, seconds),
	};
}
