/**
 * A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1, issuing RS256-signed
 * JWT access tokens (RFC 9068) for OpsWatch's audience through the client-credentials grant: one
 * client per person, whose token carries that person's claims (e-mail, tenant, roles). Discovery
 * and JWKS are served as any issuer serves them, so OpsWatch finds the keys itself.
 *
 * `sign` makes tokens with the provider's own key but claims of the test's choosing (expired,
 * not yet valid, another issuer), for what a well-behaved provider would never issue.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import Provider from "oidc-provider";

export interface OidcPerson {
	email?: string;
	tenant?: string;
	roles?: string[];
}

export interface TestOidcProvider {
	issuer: string;
	audience: string;
	/** An access token for this person, from the token endpoint. */
	tokenFor(person: string, options?: { resource?: string }): Promise<string>;
	/** A JWT signed with the provider's key, with exactly these claims (iss and aud default to the provider's). */
	sign(claims: JWTPayload, header?: { alg?: string }): Promise<string>;
	close(): Promise<void>;
}

const OTHER_RESOURCE = "https://other-api.example/";

/** The confidential web client OpsWatch signs browsers in with, when the test asks for one. */
export const WEB_CLIENT = { clientId: "opswatch-web", clientSecret: "opswatch-web-secret-0123456789" };

export async function startOidcProvider(options: {
	audience: string;
	people: Record<string, OidcPerson>;
	/** Registers {@link WEB_CLIENT} with this redirect URI (authorization code + PKCE, people sign in by name). */
	webRedirectUri?: string;
}): Promise<TestOidcProvider> {
	const server = http.createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	const { privateKey } = await generateKeyPair("RS256", { extractable: true });
	const jwk = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
	const secretOf = (person: string) => `${person}-client-secret-0123456789`;

	const provider = new Provider(issuer, {
		clients: [
			...Object.keys(options.people).map((person) => ({
				client_id: person,
				client_secret: secretOf(person),
				grant_types: ["client_credentials"],
				response_types: [],
				redirect_uris: [],
			})),
			...(options.webRedirectUri
				? [
						{
							client_id: WEB_CLIENT.clientId,
							client_secret: WEB_CLIENT.clientSecret,
							grant_types: ["authorization_code"],
							response_types: ["code"] as ["code"],
							redirect_uris: [options.webRedirectUri],
						},
					]
				: []),
		],
		// The dev login form signs in whoever's name is typed; their claims come from `people`.
		findAccount: (_ctx, sub) => ({
			accountId: sub,
			claims: () => {
				const person = options.people[sub] ?? {};
				return { sub, email: person.email, email_verified: true, tenant: person.tenant, roles: person.roles };
			},
		}),
		claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["tenant", "roles"] },
		conformIdTokenClaims: false,
		cookies: { keys: ["test-cookie-key-0123456789abcdef"] },
		jwks: { keys: [jwk as never] },
		features: {
			devInteractions: { enabled: Boolean(options.webRedirectUri) },
			clientCredentials: { enabled: true },
			resourceIndicators: {
				enabled: true,
				defaultResource: () => `${options.audience}`,
				useGrantedResource: () => true,
				getResourceServerInfo: (_ctx, resource) => ({
					scope: "api",
					audience: resource === OTHER_RESOURCE ? "another-api" : options.audience,
					accessTokenFormat: "jwt",
					accessTokenTTL: 300,
					jwt: { sign: { alg: "RS256" } },
				}),
			},
		},
		extraTokenClaims: (_ctx, token) => {
			const person = options.people[(token as { clientId?: string }).clientId ?? ""] ?? {};
			return {
				...(person.email && { email: person.email }),
				...(person.tenant && { tenant: person.tenant }),
				...(person.roles && { roles: person.roles }),
			};
		},
	});
	server.on("request", provider.callback());

	return {
		issuer,
		audience: options.audience,
		async tokenFor(person, { resource } = {}) {
			const response = await fetch(`${issuer}/token`, {
				method: "POST",
				headers: {
					"content-type": "application/x-www-form-urlencoded",
					authorization: `Basic ${Buffer.from(`${person}:${secretOf(person)}`).toString("base64")}`,
				},
				body: new URLSearchParams({
					grant_type: "client_credentials",
					scope: "api",
					...(resource && { resource }),
				}).toString(),
			});
			const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
			if (!body.access_token) throw new Error(`token endpoint: ${body.error}: ${body.error_description}`);
			return body.access_token;
		},
		async sign(claims, header = {}) {
			return new SignJWT({ iss: issuer, aud: options.audience, ...claims })
				.setProtectedHeader({ alg: header.alg ?? "RS256", kid: jwk.kid, typ: "at+jwt" })
				.sign(privateKey);
		},
		async close() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

export { OTHER_RESOURCE };
