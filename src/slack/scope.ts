import type { Tenant } from "../tenant/index.ts";
import type { Installations, SlackCredentials } from "./installations.ts";

/** Where a Slack request came from: the tenant whose workspace sent it, and how to answer it. */
export interface SlackScope {
	tenant: Tenant;
	credentials: SlackCredentials;
	/** The bot token to answer with; undefined when the installation has none and the deployment neither. */
	token: string | undefined;
}

/** Which endpoint a request reached: the OpsWatch app's, or a tenant's own app's (`/api/v1/slack/t/<slug>/…`). */
export type SlackEndpoint = { kind: "app" } | { kind: "tenant"; tenant: Tenant };

/**
 * The tenant of a signed Slack request, from the team it names. On a tenant's own endpoint the
 * team must be that tenant's installation; undefined means "a workspace OpsWatch does not know".
 */
export async function scopeOf(
	installations: Pick<Installations, "tenantOfTeam" | "credentials">,
	endpoint: SlackEndpoint,
	teamId: string,
): Promise<SlackScope | undefined> {
	const tenant = endpoint.kind === "tenant" ? endpoint.tenant : await installations.tenantOfTeam(teamId);
	if (!tenant) return undefined;
	const credentials = await installations.credentials(tenant);
	if (credentials.teamId !== teamId) return undefined;
	return { tenant, credentials, token: credentials.token };
}

export const UNKNOWN_WORKSPACE =
	"This Slack workspace is not connected to OpsWatch: an OpsWatch admin installs the app for their tenant (/api/v1/slack/oauth/install). Nothing was changed.";

export const notLinked = (slug: string, userId: string) =>
	`Your Slack account is not linked to an OpsWatch member of "${slug}": add your Slack user id (${userId}) as a contact method of your member, or use the same e-mail address in both, then try again. Nothing was changed.`;
