import { generatePassword, type LocalLogin, type MemberApi, type TenantApi } from "../tenant/index.ts";

export interface FirstStartCredentials {
	tenantSlug: string;
	apiKey: string;
	/** Absent when OPSWATCH_ADMIN_TOKEN is configured or a token already exists. */
	adminToken?: string;
	/** The tenant's first admin, who signs in with this one-time password (and changes it). */
	account: { email: string; password: string };
}

/** Where the first admin's account is, before anyone adds real people. */
export const FIRST_ADMIN_EMAIL = "admin@opswatch.local";

const system = { principal: { type: "system" as const, id: "first-start" } };

/**
 * The embedded default's first start: with no tenant yet, create tenant `default`, an admin API
 * key for it and (unless OPSWATCH_ADMIN_TOKEN is set) a platform-admin token, so a new user can
 * use OpsWatch at once. Returns the credentials to print once, or nothing when already set up.
 */
export async function bootstrapFirstStart(
	tenants: TenantApi,
	accounts: { members: Pick<MemberApi, "create">; localLogin: Pick<LocalLogin, "setPassword"> },
	options: { adminTokenConfigured: boolean },
): Promise<FirstStartCredentials | undefined> {
	if ((await tenants.countTenants()) > 0) return undefined;
	const tenant = await tenants.createTenant({ slug: "default", name: "Default" }, system);
	const { key } = await tenants.createApiKey(
		{ tenantSlug: tenant.slug, role: "admin", description: "created on first start" },
		system,
	);
	const adminToken =
		options.adminTokenConfigured || (await tenants.hasPlatformAdminToken())
			? undefined
			: await tenants.createPlatformAdminToken("created on first start");
	const admin = await accounts.members.create(
		tenant,
		{
			name: "Admin",
			email: FIRST_ADMIN_EMAIL,
			timeZone: "UTC",
			contactMethods: [],
			notificationRules: [],
			role: "admin",
		},
		system,
	);
	const password = generatePassword();
	await accounts.localLogin.setPassword(tenant, admin.id, password, system);
	return { tenantSlug: tenant.slug, apiKey: key, adminToken, account: { email: FIRST_ADMIN_EMAIL, password } };
}

export function formatFirstStartBanner(credentials: FirstStartCredentials, baseUrl: string): string {
	const lines = [
		"",
		"=====================================================================",
		` OpsWatch first start: created tenant "${credentials.tenantSlug}".`,
		" Save these credentials now. They are shown only this once.",
		"",
		...(credentials.adminToken
			? [`   Platform-admin token (for /api/v1/admin/tenants): ${credentials.adminToken}`]
			: []),
		`   Admin API key of tenant "${credentials.tenantSlug}":        ${credentials.apiKey}`,
		`   Admin sign-in: ${credentials.account.email}, one-time password ${credentials.account.password}`,
		"     (POST /api/v1/auth/local/login, then PUT /api/v1/me/password to choose your own)",
		"",
		` Try:       curl -H "X-API-Key: ${credentials.apiKey}" ${baseUrl}/api/v1/me`,
		` API docs:  ${baseUrl}/api/docs`,
		"=====================================================================",
		"",
	];
	return lines.join("\n");
}
