import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../platform/errors.ts";
import { secretsEqual } from "./credentials.ts";
import type { LocalLogin } from "./local-login.ts";
import { LOGIN_COOKIE, type Login } from "./login.ts";
import { contactMethodTypes, type Member, ruleChannels } from "./member-types.ts";
import type { MemberApi } from "./members.ts";
import { roles } from "./permissions.ts";
import type { TenantApi } from "./service.ts";
import { CSRF_COOKIE, SESSION_COOKIE, type Session, type Sessions } from "./sessions.ts";
import {
	type Actor,
	type ApiKey,
	type Principal,
	type Tenant,
	type TenantPrincipal,
	type TenantRef,
	tenantSlug,
} from "./types.ts";

export interface TenantRoutesOptions {
	tenants: TenantApi;
}

const tenantDto = z
	.object({
		id: z.uuid(),
		slug: z.string(),
		name: z.string(),
		createdAt: z.string().meta({ format: "date-time" }),
	})
	.meta({ id: "Tenant" });

const apiKeyDto = z
	.object({
		id: z.uuid(),
		prefix: z.string().meta({ description: "The key's first characters, to recognise it" }),
		role: z.enum(roles),
		integration: z.string().nullable().meta({ description: "Set when the key only sends alerts to this webhook" }),
		agent: z.boolean().meta({
			description:
				"An automated responder's key: alerts it resolves with notes become knowledge-base entries for review",
		}),
		description: z.string(),
		createdBy: z.string(),
		createdAt: z.string().meta({ format: "date-time" }),
		lastUsedAt: z.string().nullable().meta({ format: "date-time" }),
		revokedAt: z.string().nullable().meta({ format: "date-time" }),
	})
	.meta({ id: "ApiKey" });

const createdKeyDto = z.object({
	key: z.string().meta({ description: "The API key. Shown only in this response: store it now." }),
	apiKey: apiKeyDto,
});

const createKeyBody = z
	.object({
		role: z.enum(roles),
		description: z.string().max(200).optional(),
		agent: z
			.boolean()
			.optional()
			.meta({ description: "A key for an automated responder (an AI SRE agent); default false" }),
	})
	.strict();

const toTenantDto = (tenant: Tenant) => ({
	id: tenant.id,
	slug: tenant.slug,
	name: tenant.name,
	createdAt: tenant.createdAt.toISOString(),
});

const toApiKeyDto = (key: ApiKey) => ({
	id: key.id,
	prefix: key.prefix,
	role: key.role,
	integration: key.integration,
	agent: key.agent,
	description: key.description,
	createdBy: key.createdBy,
	createdAt: key.createdAt.toISOString(),
	lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
	revokedAt: key.revokedAt?.toISOString() ?? null,
});

/** Who is acting, for the audit log, from an authenticated request. */
export function actorOf(request: FastifyRequest, authenticated?: Principal): Actor {
	const principal = authenticated ?? request.principal;
	if (!principal) throw new Error("actorOf() on an unauthenticated route");
	// A signed-in person is recorded as the member they are (`member:<id>`, as on alerts), or by
	// their identity provider's subject when the tenant has no member with their e-mail address.
	const actor =
		principal.type === "user"
			? { type: "member" as const, id: principal.memberId ?? `oidc:${principal.id}`, role: principal.role }
			: principal;
	return { principal: actor, requestId: request.id, sourceIp: request.ip };
}

/**
 * The member a `/api/v1/me/…` request is about: a person signed in as a member of the tenant. An
 * API key, or a signed-in person the tenant has no member for, gets 422 saying which.
 */
export function signedInMember(request: FastifyRequest): { tenant: TenantRef; memberId: string } {
	const principal = tenantPrincipal(request);
	if (principal.type === "user" && principal.memberId)
		return { tenant: principal.tenant, memberId: principal.memberId };
	throw new AppError(
		"unprocessable",
		"me.not_a_member",
		principal.type === "user"
			? "You are signed in, but the tenant has no member with your e-mail address"
			: "An API key is no member: sign in as one (API keys reach members at /api/v1/members/:id)",
	);
}

/** The tenant-scoped principal of a request on a route that declared a tenant permission. */
export function tenantPrincipal(request: FastifyRequest): TenantPrincipal {
	const principal = request.principal;
	if (principal?.type !== "api_key" && principal?.type !== "user") {
		throw new Error("tenantPrincipal() on a route without a tenant permission");
	}
	return principal;
}

const adminTags = ["admin"];
const keyTags = ["api keys"];

export const tenantRoutes: FastifyPluginAsyncZod<TenantRoutesOptions> = async (app, { tenants }) => {
	app.get(
		"/api/v1/admin/tenants",
		{
			config: { auth: "platform_admin" },
			schema: {
				tags: adminTags,
				summary: "List tenants",
				response: { 200: z.object({ tenants: z.array(tenantDto) }) },
			},
		},
		async () => ({ tenants: (await tenants.listTenants()).map(toTenantDto) }),
	);

	app.post(
		"/api/v1/admin/tenants",
		{
			config: { auth: "platform_admin" },
			schema: {
				tags: adminTags,
				summary: "Create a tenant and its schema",
				body: z.object({ slug: tenantSlug, name: z.string().min(1).max(200).optional() }).strict(),
				response: { 201: z.object({ tenant: tenantDto }) },
			},
		},
		async (request, reply) => {
			const tenant = await tenants.createTenant(request.body, actorOf(request));
			return reply.status(201).send({ tenant: toTenantDto(tenant) });
		},
	);

	app.get(
		"/api/v1/admin/tenants/:slug",
		{
			config: { auth: "platform_admin" },
			schema: {
				tags: adminTags,
				summary: "Get a tenant",
				params: z.object({ slug: tenantSlug }),
				response: { 200: z.object({ tenant: tenantDto }) },
			},
		},
		async (request) => ({ tenant: toTenantDto(await tenants.getTenant(request.params.slug)) }),
	);

	app.get(
		"/api/v1/admin/tenants/:slug/api-keys",
		{
			config: { auth: "platform_admin" },
			schema: {
				tags: adminTags,
				summary: "List a tenant's API keys",
				params: z.object({ slug: tenantSlug }),
				response: { 200: z.object({ apiKeys: z.array(apiKeyDto) }) },
			},
		},
		async (request) => ({ apiKeys: (await tenants.listApiKeys(request.params.slug)).map(toApiKeyDto) }),
	);

	app.post(
		"/api/v1/admin/tenants/:slug/api-keys",
		{
			config: { auth: "platform_admin" },
			schema: {
				tags: adminTags,
				summary: "Create an API key for a tenant",
				description: "The key is in the response only; OpsWatch keeps its SHA-256 hash.",
				params: z.object({ slug: tenantSlug }),
				body: createKeyBody,
				response: { 201: createdKeyDto },
			},
		},
		async (request, reply) => {
			const { key, apiKey } = await tenants.createApiKey(
				{ tenantSlug: request.params.slug, ...request.body },
				actorOf(request),
			);
			return reply.status(201).send({ key, apiKey: toApiKeyDto(apiKey) });
		},
	);

	app.get(
		"/api/v1/admin/audit-log",
		{
			config: { auth: { permission: "audit.read" } },
			schema: {
				tags: ["audit"],
				summary:
					"The tenant's audit log: every change, who made it (actor, role), before and after, request id, source IP",
				description:
					"Newest first. `action` is exact (`member.create`) or a prefix ending in a dot (`member.`). Rows are written in the same transaction as the change and no API alters or deletes them.",
				querystring: z
					.object({
						action: z.string().min(1).max(100).optional(),
						actorType: z.enum(["api_key", "member", "platform_admin", "agent", "system"]).optional(),
						actorId: z.string().min(1).max(200).optional(),
						targetType: z.string().min(1).max(100).optional(),
						targetId: z.string().min(1).max(200).optional(),
						since: z.iso.datetime({ offset: true }).optional(),
						until: z.iso.datetime({ offset: true }).optional(),
						cursor: z.string().max(200).optional(),
						limit: z.coerce.number().int().min(1).max(500).default(100),
					})
					.strict(),
			},
		},
		async (request) => {
			const { since, until, ...query } = request.query;
			if (since && until && new Date(since) >= new Date(until)) {
				throw new AppError("validation", "audit.invalid_window", "since must be before until", {
					fields: [{ path: "querystring.since", message: "must be before until" }],
				});
			}
			const page = await tenants.queryAudit(tenantPrincipal(request).tenant, {
				...query,
				...(since && { since: new Date(since) }),
				...(until && { until: new Date(until) }),
			});
			return {
				entries: page.entries.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
				...(page.nextCursor && { nextCursor: page.nextCursor }),
			};
		},
	);

	app.get(
		"/api/v1/me",
		{
			config: { auth: { permission: "tenant.read" } },
			schema: {
				tags: ["identity"],
				summary: "Who the caller is: tenant and role, and the API key or the signed-in person",
				response: {
					200: z.object({
						tenant: z.object({ id: z.uuid(), slug: z.string() }),
						role: z.enum(roles),
						apiKeyId: z.uuid().optional(),
						user: z
							.object({ subject: z.string(), email: z.string().nullable(), memberId: z.uuid().nullable() })
							.optional(),
					}),
				},
			},
		},
		async (request) => {
			const principal = tenantPrincipal(request);
			return {
				tenant: { id: principal.tenant.id, slug: principal.tenant.slug },
				role: principal.role,
				...(principal.type === "api_key"
					? { apiKeyId: principal.id }
					: { user: { subject: principal.id, email: principal.email, memberId: principal.memberId } }),
			};
		},
	);

	app.get(
		"/api/v1/api-keys",
		{
			config: { auth: { permission: "apikeys.read" } },
			schema: {
				tags: keyTags,
				summary: "List this tenant's API keys",
				response: { 200: z.object({ apiKeys: z.array(apiKeyDto) }) },
			},
		},
		async (request) => ({
			apiKeys: (await tenants.listApiKeys(tenantPrincipal(request).tenant.slug)).map(toApiKeyDto),
		}),
	);

	app.post(
		"/api/v1/api-keys",
		{
			config: { auth: { permission: "apikeys.manage" } },
			schema: {
				tags: keyTags,
				summary: "Create an API key in this tenant",
				description: "The key is in the response only; OpsWatch keeps its SHA-256 hash.",
				body: createKeyBody,
				response: { 201: createdKeyDto },
			},
		},
		async (request, reply) => {
			const { key, apiKey } = await tenants.createApiKey(
				{ tenantSlug: tenantPrincipal(request).tenant.slug, ...request.body },
				actorOf(request),
			);
			return reply.status(201).send({ key, apiKey: toApiKeyDto(apiKey) });
		},
	);

	app.delete(
		"/api/v1/api-keys/:id",
		{
			config: { auth: { permission: "apikeys.manage" } },
			schema: {
				tags: keyTags,
				summary: "Revoke an API key of this tenant",
				params: z.object({ id: z.uuid() }),
				response: { 200: z.object({ apiKey: apiKeyDto }) },
			},
		},
		async (request) => {
			const revoked = await tenants.revokeApiKey(
				tenantPrincipal(request).tenant.slug,
				request.params.id,
				actorOf(request),
			);
			return { apiKey: toApiKeyDto(revoked) };
		},
	);
};

const contactMethod = z
	.object({
		type: z.enum(contactMethodTypes),
		value: z.string().trim().min(1).max(320),
	})
	.strict()
	.superRefine((method, ctx) => {
		// E.164, as Twilio and Vonage expect it; a Slack user id; an address.
		const valid = {
			phone: /^\+[1-9]\d{6,14}$/,
			sms: /^\+[1-9]\d{6,14}$/,
			slack: /^[UW][A-Z0-9]{2,20}$/,
			email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
		}[method.type];
		if (!valid.test(method.value)) {
			const expected = {
				phone: "an E.164 number such as +41441234567",
				sms: "an E.164 number such as +41441234567",
				slack: "a Slack user id such as U024BE7LH",
				email: "an e-mail address",
			}[method.type];
			ctx.addIssue({ code: "custom", path: ["value"], message: `must be ${expected}` });
		}
	});

const notificationRule = z
	.object({
		channel: z.enum(ruleChannels),
		afterMinutes: z.number().int().min(0).max(120, "must be at most 120 minutes"),
	})
	.strict()
	.meta({
		id: "NotificationRule",
		description: "Page me on `channel` `afterMinutes` into a page, unless acknowledged",
	});

const memberInput = z
	.object({
		name: z.string().trim().min(1).max(200),
		email: z.email().max(320),
		timeZone: z.string().min(1).max(64).meta({ description: "IANA zone, e.g. Europe/Zurich" }),
		contactMethods: z.array(contactMethod).max(20).default([]),
		role: z
			.enum(roles)
			.default("engineer")
			.meta({ description: "What they may do when signed in; only admins grant admin or manager, or change a role" }),
		notificationRules: z
			.array(notificationRule)
			.max(10)
			.default([])
			.refine((rules) => new Set(rules.map((r) => r.channel)).size === rules.length, {
				message: "name each channel at most once",
			}),
	})
	.strict();

const memberDto = z
	.object({
		id: z.uuid(),
		name: z.string(),
		email: z.string(),
		timeZone: z.string(),
		contactMethods: z.array(z.object({ type: z.enum(contactMethodTypes), value: z.string() })),
		notificationRules: z.array(notificationRule),
		role: z.enum(roles),
		version: z.number().int(),
		createdAt: z.string().meta({ format: "date-time" }),
		updatedAt: z.string().meta({ format: "date-time" }),
	})
	.meta({ id: "Member", description: "Someone who can be on call; contact methods are tried in order" });

const toMemberDto = (m: Member) => ({
	...m,
	createdAt: m.createdAt.toISOString(),
	updatedAt: m.updatedAt.toISOString(),
});

/** The tenant's people (`/api/v1/members`): who can be on call and how to reach them. */
export const memberRoutes: FastifyPluginAsyncZod<{ members: MemberApi }> = async (app, { members }) => {
	const tags = ["members"];
	const params = z.object({ id: z.uuid() });
	const read = { auth: { permission: "members.read" as const } };
	const manage = { auth: { permission: "members.manage" as const } };

	app.get(
		"/api/v1/members",
		{
			config: read,
			schema: { tags, summary: "List members", response: { 200: z.object({ members: z.array(memberDto) }) } },
		},
		async (request) => ({ members: (await members.list(tenantPrincipal(request).tenant)).map(toMemberDto) }),
	);

	app.post(
		"/api/v1/members",
		{
			config: manage,
			schema: { tags, summary: "Add a member", body: memberInput, response: { 201: z.object({ member: memberDto }) } },
		},
		async (request, reply) => {
			const member = await members.create(tenantPrincipal(request).tenant, request.body, actorOf(request));
			return reply.status(201).send({ member: toMemberDto(member) });
		},
	);

	app.get(
		"/api/v1/members/:id",
		{ config: read, schema: { tags, summary: "A member", params, response: { 200: z.object({ member: memberDto }) } } },
		async (request) => ({ member: toMemberDto(await members.get(tenantPrincipal(request).tenant, request.params.id)) }),
	);

	app.put(
		"/api/v1/members/:id",
		{
			config: manage,
			schema: {
				tags,
				summary: "Replace a member; send the version you read (a stale one gets 409)",
				params,
				body: memberInput.extend({ version: z.number().int().min(1) }).strict(),
				response: { 200: z.object({ member: memberDto }) },
			},
		},
		async (request) => {
			const { version, ...input } = request.body;
			const member = await members.update(
				tenantPrincipal(request).tenant,
				request.params.id,
				version,
				input,
				actorOf(request),
			);
			return { member: toMemberDto(member) };
		},
	);

	app.delete(
		"/api/v1/members/:id",
		{
			config: manage,
			schema: {
				tags,
				summary: "Remove a member (refused while they take part in a roster)",
				params,
				response: { 204: z.null().meta({ description: "Removed" }) },
			},
		},
		async (request, reply) => {
			await members.remove(tenantPrincipal(request).tenant, request.params.id, actorOf(request));
			return reply.status(204).send(null);
		},
	);
};

/** The signed-in person's own member record: contact methods, rules and zone, never their role. */
export const selfServiceRoutes: FastifyPluginAsyncZod<{ members: MemberApi }> = async (app, { members }) => {
	app.patch(
		"/api/v1/me/member",
		{
			config: { auth: { permission: "tenant.read" } },
			schema: {
				tags: ["members"],
				summary: "Change your own contact methods, notification rules or time zone",
				description: "Only an admin changes a role: a different `role` here is refused with 403.",
				body: z
					.object({
						timeZone: memberInput.shape.timeZone.optional(),
						contactMethods: z.array(contactMethod).max(20).optional(),
						notificationRules: memberInput.shape.notificationRules.optional(),
						role: z.enum(roles).optional(),
					})
					.strict(),
				response: { 200: z.object({ member: memberDto }) },
			},
		},
		async (request) => {
			const me = signedInMember(request);
			const current = await members.get(me.tenant, me.memberId);
			const change = request.body;
			const member = await members.update(
				me.tenant,
				current.id,
				current.version,
				{
					name: current.name,
					email: current.email,
					timeZone: change.timeZone ?? current.timeZone,
					contactMethods: change.contactMethods ?? current.contactMethods,
					notificationRules: change.notificationRules ?? current.notificationRules,
					role: change.role ?? current.role,
				},
				actorOf(request),
			);
			return { member: toMemberDto(member) };
		},
	);
};

/** Local passwords: your own (proving the current one), or any member's by an admin. */
export const passwordRoutes: FastifyPluginAsyncZod<{ localLogin: LocalLogin }> = async (app, { localLogin }) => {
	const password = z.string().min(12, "must be at least 12 characters").max(200);

	app.put(
		"/api/v1/me/password",
		{
			config: { auth: { permission: "tenant.read" } },
			schema: {
				tags: ["identity"],
				summary: "Set or change your own password (local sign-in)",
				body: z.object({ currentPassword: z.string().max(200).optional(), newPassword: password }).strict(),
			},
		},
		async (request, reply) => {
			const me = signedInMember(request);
			await localLogin.changeOwnPassword(
				me.tenant,
				me.memberId,
				request.body.currentPassword,
				request.body.newPassword,
				actorOf(request),
			);
			return reply.status(204).send();
		},
	);

	app.put(
		"/api/v1/members/:id/password",
		{
			config: { auth: { permission: "members.passwords" } },
			schema: {
				tags: ["members"],
				summary: "Set a member's password (admins), e.g. a one-time password they then change",
				params: z.object({ id: z.uuid() }),
				body: z.object({ password }).strict(),
			},
		},
		async (request, reply) => {
			await localLogin.setPassword(
				tenantPrincipal(request).tenant,
				request.params.id,
				request.body.password,
				actorOf(request),
			);
			return reply.status(204).send();
		},
	);
};

/**
 * Browser sign-in (`/api/v1/auth/…`): with the identity provider (the authorization code flow) or
 * with a local password, then a session cookie (httpOnly, SameSite=Lax, Secure on https) and a
 * CSRF token cookie; and sign-out.
 */
export const loginRoutes: FastifyPluginAsyncZod<{
	sessions: Sessions;
	localLogin: LocalLogin;
	/** The identity provider's sign-in, when its client is configured. */
	login: Login | undefined;
	publicUrl: string;
}> = async (app, { sessions, localLogin, login, publicUrl }) => {
	const tags = ["identity"];
	const secure = publicUrl.startsWith("https://");
	const cookie = (maxAgeSeconds: number, httpOnly = true) =>
		({ path: "/", httpOnly, secure, sameSite: "lax", maxAge: maxAgeSeconds }) as const;
	const startSession = (reply: FastifyReply, { id, session }: { id: string; session: Session }) => {
		reply.setCookie(SESSION_COOKIE, id, cookie(sessions.ttlMs / 1000));
		reply.setCookie(CSRF_COOKIE, session.csrfToken, cookie(sessions.ttlMs / 1000, false));
	};

	if (login) {
		app.get(
			"/api/v1/auth/login",
			{ config: { auth: "public" }, schema: { tags, summary: "Sign in: redirects to the identity provider" } },
			async (_request, reply) => {
				const { url, state } = await login.start();
				reply.setCookie(LOGIN_COOKIE, state, { ...cookie(600), path: "/api/v1/auth" });
				return reply.redirect(url, 302);
			},
		);

		app.get(
			"/api/v1/auth/callback",
			{
				config: { auth: "public" },
				schema: {
					tags,
					summary: "The identity provider's redirect back: starts the session",
					querystring: z.object({}).loose(),
				},
			},
			async (request, reply) => {
				const callbackUrl = new URL(request.url, publicUrl);
				const started = await login.finish(callbackUrl, request.cookies[LOGIN_COOKIE]);
				reply.clearCookie(LOGIN_COOKIE, { path: "/api/v1/auth" });
				startSession(reply, started);
				return reply.redirect("/", 302);
			},
		);
	}

	app.post(
		"/api/v1/auth/local/login",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "Sign in with your e-mail address and password (a local account)",
				description:
					"`tenant` may be left out when there is one tenant. 20 tries a minute per address; 5 failures lock the account for 15 minutes.",
				body: z
					.object({
						tenant: z.string().min(1).max(40).optional(),
						email: z.email().max(320),
						password: z.string().min(1).max(200),
					})
					.strict(),
			},
		},
		async (request, reply) => {
			startSession(reply, await localLogin.login({ ...request.body, ip: request.ip }));
			return reply.status(204).send();
		},
	);

	app.post(
		"/api/v1/auth/logout",
		{
			config: { auth: "public" },
			schema: { tags, summary: "Signs out: the session ends here and now (needs X-CSRF-Token)" },
		},
		async (request, reply) => {
			const id = request.cookies[SESSION_COOKIE];
			const session = id ? await sessions.get(id) : undefined;
			if (session) {
				const sent = request.headers["x-csrf-token"];
				if (typeof sent !== "string" || !secretsEqual(sent, session.csrfToken)) {
					throw new AppError("forbidden", "auth.csrf_token_missing", "Signing out needs the X-CSRF-Token header");
				}
				await sessions.destroy(id!);
			}
			reply.clearCookie(SESSION_COOKIE, { path: "/" });
			reply.clearCookie(CSRF_COOKIE, { path: "/" });
			return reply.status(204).send();
		},
	);
};
