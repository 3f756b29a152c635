/**
 * The one permission table (spec §5.2). Every route declares a permission from here; a role
 * may do exactly what this table lists. Later capabilities add their permissions here.
 */
export const roles = ["admin", "manager", "engineer", "readonly"] as const;
export type Role = (typeof roles)[number];

const everyone: readonly Role[] = roles;

export const permissionTable = {
	/** Read the caller's own tenant and identity. */
	"tenant.read": everyone,
	/** List the tenant's API keys (never the keys themselves). */
	"apikeys.read": ["admin"],
	/** Create and revoke the tenant's API keys. */
	"apikeys.manage": ["admin"],
	/** Send alerts to the webhook receivers (give senders an engineer key). */
	"alerts.ingest": ["admin", "manager", "engineer"],
	/** List and read alerts with their timelines. */
	"alerts.read": everyone,
	/** Acknowledge and resolve alerts. */
	"alerts.respond": ["admin", "manager", "engineer"],
	/** Read the tenant's severity rules. */
	"alert_rules.read": everyone,
	/** Create, change and delete the tenant's severity rules. */
	"alert_rules.manage": ["admin", "manager"],
	/** Read and search the knowledge base, its history and pending prompts. */
	"kb.read": everyone,
	/** Write knowledge-base entries (engineers document their fixes) and answer prompts. */
	"kb.write": ["admin", "manager", "engineer"],
	/** Merge duplicate entries: curation, for leads. */
	"kb.merge": ["admin", "manager"],
	/** Read the tenant's members and their contact methods. */
	"members.read": everyone,
	/** Add, change and remove members. */
	"members.manage": ["admin", "manager"],
	/** Set members' local passwords. */
	"members.passwords": ["admin"],
	/** Read rosters, who is on call, shifts, gaps and calendars. */
	"rosters.read": everyone,
	/** Create and change rosters, their layers and calendar feeds. */
	"rosters.manage": ["admin", "manager"],
	/** Add and remove overrides ("I'll take tonight"). */
	"rosters.override": ["admin", "manager", "engineer"],
	/** Read escalation policies and dry-run them. */
	"escalation.read": everyone,
	/** Create and change escalation policies. */
	"escalation.manage": ["admin", "manager"],
	/** See and change the tenant's Slack installation, and install the app (OAuth). */
	"slack.manage": ["admin"],
	/** Read the tenant's audit log: who changed what, when, from where. */
	"audit.read": ["admin", "manager"],
	/** Read the tenant's statistics: alerts by severity and source, MTTA/MTTR, escalations by tier, KB hit rate. */
	"stats.read": ["admin", "manager"],
	/** Read runbooks and the templates. */
	"runbooks.read": everyone,
	/** Create, change and delete runbooks. */
	"runbooks.write": ["admin", "manager", "engineer"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissionTable;

export const permissions = Object.keys(permissionTable) as Permission[];

export function roleHasPermission(role: Role, permission: Permission): boolean {
	return (permissionTable[permission] as readonly Role[]).includes(role);
}
