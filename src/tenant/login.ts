/**
 * Browser sign-in with the tenant's identity provider: the authorization code flow with PKCE
 * (`openid-client`), ending in a server-side session. The browser holds only the session's random
 * id (an httpOnly cookie) and a CSRF token; the session holds who signed in, and is gone on logout.
 *
 *     GET  /api/v1/auth/login     → 302 to the provider (state, nonce, PKCE challenge)
 *     GET  /api/v1/auth/callback  → code exchanged, ID token checked → session → 302 to /
 *     POST /api/v1/auth/logout    → session deleted
 */
import type * as OpenIdClient from "openid-client";
import type { Cache } from "../platform/cache/index.ts";
import { AppError } from "../platform/errors.ts";
import { identityFromClaims, type OidcSettings } from "./oidc.ts";
import type { Session, Sessions } from "./sessions.ts";

export interface LoginSettings extends OidcSettings {
	clientId: string;
	clientSecret: string | undefined;
	/** Where the provider sends the browser back: `<public url>/api/v1/auth/callback`. */
	redirectUri: string;
}

/** The state of a sign-in in progress, so only the browser that started it can finish it. */
export const LOGIN_COOKIE = "opswatch_login";

/** How long a started login may take to come back. */
const LOGIN_TTL_MS = 10 * 60_000;

/** Loaded on the first sign-in: a deployment without browser sign-in never pays for it. */
const openIdClient = () => import("openid-client");

export function createLogin(settings: LoginSettings, cache: Cache, sessions: Sessions) {
	let configuration: Promise<OpenIdClient.Configuration> | undefined;
	// The provider's metadata, found once; a failed discovery is tried again on the next login.
	const provider = () => {
		configuration ??= openIdClient()
			.then((client) =>
				client.discovery(
					new URL(settings.issuer),
					settings.clientId,
					settings.clientSecret,
					undefined,
					// An http:// issuer is a development setup (tests, a local Dex); production issuers are https.
					settings.issuer.startsWith("http://") ? { execute: [client.allowInsecureRequests] } : undefined,
				),
			)
			.catch((error) => {
				configuration = undefined;
				throw new AppError("unavailable", "auth.provider_unavailable", "The identity provider could not be reached", {
					cause: error,
				});
			});
		return configuration;
	};

	return {
		/** Where to send the browser, and the state that must come back (kept in a cookie as well). */
		async start(): Promise<{ url: string; state: string }> {
			const config = await provider();
			const client = await openIdClient();
			const verifier = client.randomPKCECodeVerifier();
			const state = client.randomState();
			const nonce = client.randomNonce();
			await cache.set(`login:${state}`, JSON.stringify({ verifier, nonce }), LOGIN_TTL_MS);
			const url = client.buildAuthorizationUrl(config, {
				redirect_uri: settings.redirectUri,
				scope: "openid email profile",
				state,
				nonce,
				code_challenge: await client.calculatePKCECodeChallenge(verifier),
				code_challenge_method: "S256",
			});
			return { url: url.href, state };
		},

		/**
		 * The provider's redirect back: the state must be the one this browser started with (its
		 * cookie), once; the code is exchanged and the ID token verified (signature, issuer,
		 * audience, nonce, expiry). Returns the new session's id and CSRF token.
		 */
		async finish(callbackUrl: URL, browserState: string | undefined): Promise<{ id: string; session: Session }> {
			const state = callbackUrl.searchParams.get("state") ?? "";
			const error = callbackUrl.searchParams.get("error");
			if (error)
				throw new AppError(
					"unauthenticated",
					"auth.login_refused",
					`The identity provider refused the sign-in (${error})`,
				);
			const started = state && browserState === state ? await cache.get(`login:${state}`) : undefined;
			if (!started) {
				throw new AppError(
					"unauthenticated",
					"auth.login_expired",
					"This sign-in was not started in this browser or took longer than 10 minutes: start again at /api/v1/auth/login",
				);
			}
			await cache.delete(`login:${state}`);
			const { verifier, nonce } = JSON.parse(started) as { verifier: string; nonce: string };
			let claims: OpenIdClient.IDToken | undefined;
			try {
				const client = await openIdClient();
				const tokens = await client.authorizationCodeGrant(await provider(), callbackUrl, {
					pkceCodeVerifier: verifier,
					expectedState: state,
					expectedNonce: nonce,
					idTokenExpected: true,
				});
				claims = tokens.claims();
			} catch (cause) {
				if (cause instanceof AppError) throw cause;
				throw new AppError(
					"unauthenticated",
					"auth.login_failed",
					"The identity provider's answer did not check out; sign in again",
					{
						cause,
					},
				);
			}
			if (!claims) throw new AppError("unauthenticated", "auth.login_failed", "The identity provider sent no ID token");
			return sessions.create(identityFromClaims(claims, settings));
		},
	};
}

export type Login = ReturnType<typeof createLogin>;
