import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError, mapPgError } from "../platform/errors.ts";
import { lruCache } from "../platform/lru.ts";
import type { SecretBox } from "../platform/secret-box.ts";
import { type Actor, actorName, type Tenant, type TenantApi, type TenantRef, writeAudit } from "../tenant/index.ts";
import * as store from "./installation-store.ts";

/** A tenant's Slack workspace as the API shows it: never its secrets, only whether they are set. */
export interface SlackInstallation {
	teamId: string;
	teamName: string | null;
	botUserId: string | null;
	/** Channel ids: where alerts without a Slack target and knowledge-base prompts go, and the last resort. */
	alertChannel: string | null;
	emergencyChannel: string | null;
	/** False: the deployment's bot token (OPSWATCH_SLACK_BOT_TOKEN) speaks for this workspace. */
	hasBotToken: boolean;
	/** True: the tenant brought its own Slack app, verified under /api/v1/slack/t/<tenant>/…. */
	hasSigningSecret: boolean;
	installedBy: string;
	createdAt: Date;
	updatedAt: Date;
}

/** What an admin (or the OAuth callback) writes. An omitted secret keeps the stored one; null clears it. */
export interface InstallationInput {
	teamId: string;
	teamName?: string | null;
	botUserId?: string | null;
	botToken?: string | null;
	signingSecret?: string | null;
	alertChannel?: string | null;
	emergencyChannel?: string | null;
}

/** What the bot needs to speak for a tenant. */
export interface SlackCredentials {
	teamId: string | undefined;
	/** The installation's token, else the deployment's; undefined when neither exists. */
	token: string | undefined;
	signingSecret: string | undefined;
	alertChannel: string | null;
	emergencyChannel: string | null;
}

export interface InstallationDeps {
	db: Db;
	clock: Clock;
	tenants: Pick<TenantApi, "findTenantById" | "getTenant">;
	box: SecretBox;
	/** OPSWATCH_SLACK_BOT_TOKEN: speaks for tenants whose installation brings no token. */
	deploymentToken: string | undefined;
}

// Credentials are read on every Slack request and page; an admin's change reaches other
// processes within this time (this process drops its copy at once).
const CREDENTIALS_TTL_MS = 5000;

const teamTaken = {
	slack_teams_pkey: {
		code: "slack.team_taken",
		message: "This Slack workspace is installed for another tenant",
		field: "body.teamId",
	},
};

export function createInstallations(deps: InstallationDeps) {
	const { db, clock, box } = deps;
	const sealContext = (tenantId: string, what: string) => `slack:${tenantId}:${what}`;
	const credentialsCache = lruCache<string, SlackCredentials>(1000, { ttl: CREDENTIALS_TTL_MS });

	const view = (row: store.InstallationRow): SlackInstallation => ({
		teamId: row.team_id,
		teamName: row.team_name,
		botUserId: row.bot_user_id,
		alertChannel: row.alert_channel,
		emergencyChannel: row.emergency_channel,
		hasBotToken: row.bot_token_encrypted !== null,
		hasSigningSecret: row.signing_secret_encrypted !== null,
		installedBy: row.installed_by,
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	});

	const notInstalled = (tenant: TenantRef) =>
		new AppError("not_found", "slack.not_installed", `Slack is not installed for tenant ${tenant.slug}`);

	async function credentials(tenant: TenantRef): Promise<SlackCredentials> {
		const cached = credentialsCache.get(tenant.id);
		if (cached) return cached;
		const row = await store.findInstallation(db, tenant.schema);
		const open = (sealed: string | null | undefined, what: string) =>
			sealed ? box.open(sealed, sealContext(tenant.id, what)) : undefined;
		const found: SlackCredentials = {
			teamId: row?.team_id,
			token: open(row?.bot_token_encrypted, "bot_token") ?? deps.deploymentToken,
			signingSecret: open(row?.signing_secret_encrypted, "signing_secret"),
			alertChannel: row?.alert_channel ?? null,
			emergencyChannel: row?.emergency_channel ?? null,
		};
		credentialsCache.set(tenant.id, found);
		return found;
	}

	return {
		async get(tenant: TenantRef): Promise<SlackInstallation> {
			const row = await store.findInstallation(db, tenant.schema);
			if (!row) throw notInstalled(tenant);
			return view(row);
		},

		async put(tenant: TenantRef, input: InstallationInput, actor: Actor): Promise<SlackInstallation> {
			const seal = (value: string | null | undefined, what: string, stored: string | null | undefined) =>
				value === undefined ? (stored ?? null) : value === null ? null : box.seal(value, sealContext(tenant.id, what));
			try {
				const row = await db.transaction().execute(async (trx) => {
					const before = await store.findInstallation(trx, tenant.schema);
					// Stored secrets belong to the team they were issued for: a new team starts without them.
					const kept = before?.team_id === input.teamId ? before : undefined;
					const saved = await store.saveInstallation(
						trx,
						tenant.schema,
						tenant.id,
						{
							team_id: input.teamId,
							team_name: input.teamName === undefined ? (kept?.team_name ?? null) : input.teamName,
							bot_user_id: input.botUserId === undefined ? (kept?.bot_user_id ?? null) : input.botUserId,
							bot_token_encrypted: seal(input.botToken, "bot_token", kept?.bot_token_encrypted),
							signing_secret_encrypted: seal(input.signingSecret, "signing_secret", kept?.signing_secret_encrypted),
							alert_channel: input.alertChannel === undefined ? (kept?.alert_channel ?? null) : input.alertChannel,
							emergency_channel:
								input.emergencyChannel === undefined ? (kept?.emergency_channel ?? null) : input.emergencyChannel,
							installed_by: actorName(actor),
						},
						clock.now(),
					);
					await writeAudit(trx, tenant.schema, actor, {
						action: "slack.install",
						targetType: "slack_installation",
						targetId: saved.team_id,
						before: before && auditView(view(before)),
						after: auditView(view(saved)),
					});
					return saved;
				});
				credentialsCache.delete(tenant.id);
				return view(row);
			} catch (error) {
				throw mapPgError(error, teamTaken);
			}
		},

		async remove(tenant: TenantRef, actor: Actor): Promise<void> {
			await db.transaction().execute(async (trx) => {
				const removed = await store.deleteInstallation(trx, tenant.schema, tenant.id);
				if (!removed) throw notInstalled(tenant);
				await writeAudit(trx, tenant.schema, actor, {
					action: "slack.uninstall",
					targetType: "slack_installation",
					targetId: removed.team_id,
					before: auditView(view(removed)),
				});
			});
			credentialsCache.delete(tenant.id);
		},

		/** The tenant a Slack team belongs to, or undefined for a workspace nobody installed. */
		async tenantOfTeam(teamId: string): Promise<Tenant | undefined> {
			const tenantId = await store.findTenantIdOfTeam(db, teamId);
			return tenantId ? deps.tenants.findTenantById(tenantId) : undefined;
		},

		credentials,

		/** The bot token that speaks for a tenant (its installation's, else the deployment's). */
		async tokenFor(tenant: TenantRef): Promise<string | undefined> {
			return (await credentials(tenant)).token;
		},
	};
}

/** What the audit log keeps of an installation: no secrets, only whether they are set. */
const auditView = (i: SlackInstallation) => ({
	teamId: i.teamId,
	teamName: i.teamName,
	alertChannel: i.alertChannel,
	emergencyChannel: i.emergencyChannel,
	hasBotToken: i.hasBotToken,
	hasSigningSecret: i.hasSigningSecret,
});

export type Installations = ReturnType<typeof createInstallations>;
