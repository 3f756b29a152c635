/**
 * The OAuth v2 install flow (https://docs.slack.dev/authentication/installing-with-oauth): an admin
 * opens `/api/v1/slack/oauth/install`, which sends the browser to Slack with a `state` naming their
 * tenant; Slack sends it back to `/callback` with a code, which is exchanged for the workspace's
 * bot token, stored encrypted as the tenant's installation.
 *
 * The state is `<tenant id>.<expiry ms>.<nonce>.<HMAC-SHA256>` under the deployment's secret key:
 * it can't be forged for another tenant, and it expires in 10 minutes.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../platform/clock.ts";
import { AppError } from "../platform/errors.ts";
import type { TenantApi, TenantRef } from "../tenant/index.ts";
import type { Installations, SlackInstallation } from "./installations.ts";
import type { SlackWeb } from "./web.ts";

/** What the bot asks a workspace for: post and update, DMs, commands, mentions, e-mail lookup, history for reconciling. */
export const BOT_SCOPES = [
	"app_mentions:read",
	"channels:history",
	"chat:write",
	"commands",
	"im:history",
	"im:write",
	"users:read",
	"users:read.email",
];
const STATE_TTL_MS = 10 * 60_000;

export interface OAuthDeps {
	clientId: string;
	clientSecret: string;
	authorizeUrl: string;
	publicUrl: string;
	/** Signs the state; the deployment's secret key. */
	stateKey: () => Buffer;
	clock: Clock;
	tenants: Pick<TenantApi, "findTenantById">;
	installations: Pick<Installations, "put">;
	web: Pick<SlackWeb, "oauthAccess">;
}

export function createOAuth(deps: OAuthDeps) {
	const redirectUri = `${deps.publicUrl}/api/v1/slack/oauth/callback`;
	const sign = (body: string) => createHmac("sha256", deps.stateKey()).update(body).digest("base64url");
	const badState = () =>
		new AppError(
			"validation",
			"slack.oauth_bad_state",
			"The install link is invalid or older than 10 minutes: start again from /api/v1/slack/oauth/install",
		);

	return {
		/** Where to send an admin's browser to approve the app for their tenant's workspace. */
		installUrl(tenant: TenantRef): string {
			const body = `${tenant.id}.${deps.clock.now().getTime() + STATE_TTL_MS}.${randomBytes(12).toString("base64url")}`;
			const url = new URL(deps.authorizeUrl);
			url.searchParams.set("client_id", deps.clientId);
			url.searchParams.set("scope", BOT_SCOPES.join(","));
			url.searchParams.set("redirect_uri", redirectUri);
			url.searchParams.set("state", `${body}.${sign(body)}`);
			return url.toString();
		},

		/** Slack's redirect back: checks the state, exchanges the code, stores the installation. */
		async callback(query: { code?: string; state?: string; error?: string }): Promise<{
			tenant: TenantRef;
			installation: SlackInstallation;
		}> {
			if (query.error) {
				throw new AppError("validation", "slack.oauth_denied", `The Slack install was not approved (${query.error})`);
			}
			const parts = (query.state ?? "").split(".");
			if (parts.length !== 4 || !query.code) throw badState();
			const [tenantId, expires, nonce, signature] = parts as [string, string, string, string];
			const expected = Buffer.from(sign(`${tenantId}.${expires}.${nonce}`));
			const given = Buffer.from(signature);
			if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw badState();
			if (!(Number(expires) > deps.clock.now().getTime())) throw badState();
			const tenant = await deps.tenants.findTenantById(tenantId);
			if (!tenant) throw badState();

			const access = await deps.web
				.oauthAccess({
					clientId: deps.clientId,
					clientSecret: deps.clientSecret,
					code: query.code,
					redirectUri,
				})
				.catch((error) => {
					// Slack's code (invalid_code, code_already_used, …), never the client secret.
					const code = (error as { data?: { error?: unknown } }).data?.error;
					throw new AppError(
						"validation",
						"slack.oauth_failed",
						`Slack did not accept the install${typeof code === "string" ? ` (${code})` : ""}: start again from /api/v1/slack/oauth/install`,
					);
				});
			const installation = await deps.installations.put(
				tenant,
				{
					teamId: access.teamId,
					teamName: access.teamName,
					botUserId: access.botUserId,
					botToken: access.botToken,
					...(access.channelId && { alertChannel: access.channelId }),
				},
				{ principal: { type: "system", id: "slack-oauth" } },
			);
			return { tenant, installation };
		},
	};
}

export type OAuth = ReturnType<typeof createOAuth>;
