/**
 * Bearer JWTs from an OpenID Connect issuer (Keycloak, Dex, …), verified with `jose` against the
 * keys the issuer publishes (discovery → `jwks_uri`): signature, issuer, audience, expiry and
 * not-before within a clock skew, and an algorithm allow-list (never `none`, never HMAC).
 *
 * Example of the claims OpsWatch reads (the claim names are configuration):
 *
 *     { "iss": "https://sso.example/realms/ops", "aud": "opswatch", "sub": "4f1c…",
 *       "email": "ada@example.com", "tenant": "acme", "roles": ["engineer"], "exp": 1764150000 }
 */
import type { createRemoteJWKSet, errors as JoseErrors, JWTPayload } from "jose";
import { type Role, roles } from "./permissions.ts";

export interface OidcSettings {
	issuer: string;
	audience: string;
	tenantClaim: string;
	roleClaim: string;
	algorithms: readonly string[];
	clockSkewSeconds: number;
}

/** What a verified token says about its bearer. */
export interface OidcIdentity {
	subject: string;
	email: string | undefined;
	/** The tenant slug the token names, if it names one. */
	tenant: string | undefined;
	/** The highest OpsWatch role the role claim lists, if it lists one. */
	role: Role | undefined;
}

export type OidcResult = { ok: true; identity: OidcIdentity } | { ok: false; message: string };

/** Three base64url parts, the first a JSON header: what a JWT looks like (API keys start `ow_`). */
export const looksLikeJwt = (credential: string) => /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/.test(credential);

/** Roles from the most to the least powerful: a token listing several gets the first it lists of these. */
const byPower: readonly Role[] = roles;

/** Loaded on the first token: a deployment of API keys only never pays for it. */
const loadJose = () => import("jose");

export function createOidcVerifier(settings: OidcSettings, now: () => Date) {
	let keys: ReturnType<typeof createRemoteJWKSet> | undefined;

	/** The issuer's key set, found through its discovery document once. */
	async function keySet() {
		if (keys) return keys;
		const response = await fetch(`${settings.issuer}/.well-known/openid-configuration`, {
			signal: AbortSignal.timeout(5000),
		});
		if (!response.ok) throw new Error(`OIDC discovery at ${settings.issuer} answered ${response.status}`);
		const discovery = (await response.json()) as { issuer?: string; jwks_uri?: string };
		if (discovery.issuer?.replace(/\/+$/, "") !== settings.issuer || !discovery.jwks_uri) {
			throw new Error(`OIDC discovery at ${settings.issuer} names another issuer or no jwks_uri`);
		}
		keys = (await loadJose()).createRemoteJWKSet(new URL(discovery.jwks_uri), { cooldownDuration: 30_000 });
		return keys;
	}

	return {
		async verify(token: string): Promise<OidcResult> {
			const jose = await loadJose();
			let payload: JWTPayload;
			try {
				({ payload } = await jose.jwtVerify(token, await keySet(), {
					issuer: settings.issuer,
					audience: settings.audience,
					algorithms: [...settings.algorithms],
					clockTolerance: settings.clockSkewSeconds,
					currentDate: now(),
					requiredClaims: ["sub", "exp"],
				}));
			} catch (error) {
				return { ok: false, message: explain(error, jose.errors) };
			}
			return { ok: true, identity: identityFromClaims(payload, settings) };
		},
	};
}

/** Who a verified token or ID token names, read through the configured claim names. */
export function identityFromClaims(
	payload: JWTPayload,
	settings: Pick<OidcSettings, "tenantClaim" | "roleClaim">,
): OidcIdentity {
	const email = claimAt(payload, "email");
	const tenant = claimAt(payload, settings.tenantClaim);
	const listed = claimAt(payload, settings.roleClaim);
	const names = (Array.isArray(listed) ? listed : [listed]).filter((v): v is string => typeof v === "string");
	return {
		subject: String(payload.sub),
		email: typeof email === "string" ? email : undefined,
		tenant: typeof tenant === "string" ? tenant : undefined,
		role: byPower.find((role) => names.includes(role)),
	};
}

/** A claim by dotted path (`realm_access.roles`). */
function claimAt(payload: JWTPayload, path: string): unknown {
	let value: unknown = payload;
	for (const part of path.split(".")) {
		if (typeof value !== "object" || value === null) return undefined;
		value = (value as Record<string, unknown>)[part];
	}
	return value;
}

/** What was wrong with a token, for the 401 (never the token itself). */
function explain(error: unknown, errors: typeof JoseErrors): string {
	if (error instanceof errors.JWTExpired) return "The token has expired";
	if (error instanceof errors.JWTClaimValidationFailed) {
		if (error.claim === "nbf") return "The token is not valid yet (nbf)";
		if (error.claim === "aud") return "The token was issued for another audience";
		if (error.claim === "iss") return "The token was issued by another issuer";
		return `The token's ${error.claim} claim is missing or invalid`;
	}
	if (error instanceof errors.JOSEAlgNotAllowed) return "The token's signature algorithm is not allowed";
	if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature does not verify";
	if (error instanceof errors.JWKSNoMatchingKey) return "The token is signed with a key the issuer does not publish";
	if (error instanceof errors.JOSEError) return `The token is not valid (${error.code})`;
	return "The token could not be checked against the issuer (its keys are unreachable)";
}

export type OidcVerifier = ReturnType<typeof createOidcVerifier>;
