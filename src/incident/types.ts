import type { LabelMatcher, Severity } from "../alert/index.ts";

export type IncidentSource = "human" | "agent" | "auto";
export const incidentSources = ["human", "agent", "auto"] as const;

/** A knowledge-base entry: a known incident and how it was fixed. */
export interface Incident extends IncidentInput {
	id: string;
	source: IncidentSource;
	needsReview: boolean;
	mergedInto: string | null;
	version: number;
	createdBy: string;
	updatedBy: string;
	createdAt: Date;
	updatedAt: Date;
	stats: IncidentStats;
}

export interface IncidentStats {
	timesSeen: number;
	lastSeenAt: Date | null;
	/** Mean seconds from the alert starting to its acknowledgement, over acknowledged occurrences. */
	meanTimeToAcknowledgeSeconds: number | null;
	/** Mean seconds from the alert starting to its resolution. */
	meanTimeToResolveSeconds: number | null;
}

/** What a person (or agent) writes; everything else is kept by OpsWatch. */
export interface IncidentInput {
	title: string;
	fingerprints: string[];
	matchers: LabelMatcher[];
	symptoms: string;
	rootCause: string;
	solution: string;
	runbookIds: string[];
	tags: string[];
	severity: Severity | null;
}

export interface IncidentVersion {
	incidentId: string;
	version: number;
	action: "created" | "updated" | "merged" | "merged_into";
	snapshot: Record<string, unknown>;
	changes: Record<string, { from: unknown; to: unknown }>;
	changedBy: string;
	changedAt: Date;
}

export interface KbPrompt {
	id: string;
	alertId: string;
	fingerprint: string;
	title: string;
	labels: Record<string, string>;
	resolvedBy: string;
	resolutionNotes: string | null;
	status: "pending" | "accepted" | "dismissed";
	incidentId: string | null;
	createdAt: Date;
}

export interface Runbook {
	id: string;
	title: string;
	/** Markdown. */
	body: string;
	tags: string[];
	templateId: string | null;
	version: number;
	createdBy: string;
	updatedBy: string;
	createdAt: Date;
	updatedAt: Date;
}

export type RunbookInput = Pick<Runbook, "title" | "body" | "tags">;

export interface RunbookVersion {
	runbookId: string;
	version: number;
	title: string;
	body: string;
	tags: string[];
	changedBy: string;
	changedAt: Date;
}

export interface RunbookTemplate {
	id: string;
	title: string;
	description: string;
	tags: string[];
	body: string;
}
