import { z } from "zod";
import type { Permission, Role } from "./permissions.ts";

/** `tenant_<slug>` must be a safe, unquoted PostgreSQL identifier. */
export const tenantSlugPattern = /^[a-z][a-z0-9_]{0,39}$/;

export const tenantSlug = z
	.string()
	.regex(
		tenantSlugPattern,
		"must start with a lower-case letter and contain only a–z, 0–9 and '_' (at most 40 characters)",
	);

export interface Tenant {
	id: string;
	slug: string;
	name: string;
	/** The PostgreSQL schema holding this tenant's data. */
	schema: string;
	createdAt: Date;
}

/** What a request needs to know about its tenant. */
export type TenantRef = Pick<Tenant, "id" | "slug" | "schema">;

export interface ApiKey {
	id: string;
	tenantId: string;
	/** The first characters of the key, enough to recognise it in a list. */
	prefix: string;
	role: Role;
	/** When set, the key only sends alerts to this integration's webhook (a URL-borne credential). */
	integration: string | null;
	/** An automated responder's key (an AI SRE agent): its resolutions teach the knowledge base. */
	agent: boolean;
	description: string;
	createdBy: string;
	createdAt: Date;
	lastUsedAt: Date | null;
	revokedAt: Date | null;
}

/** Who is calling. */
export type Principal =
	| { type: "platform_admin"; id: string }
	| { type: "api_key"; id: string; tenant: TenantRef; role: Role; integration: string | null; agent: boolean }
	/**
	 * A person signed in with the tenant's identity provider (a bearer JWT): `id` is the token's
	 * subject; `memberId` the member with the token's e-mail address, when there is one.
	 */
	| { type: "user"; id: string; tenant: TenantRef; role: Role; memberId: string | null; email: string | null };

/** A principal that acts inside one tenant. */
export type TenantPrincipal = Extract<Principal, { type: "api_key" | "user" }>;

/**
 * What a route requires; every route declares one. `credentialInBody` names a body field that may
 * carry the API key when no header does (PagerDuty senders put theirs in `routing_key`).
 */
export type RouteAuth =
	| "public"
	| "platform_admin"
	| {
			permission: Permission;
			/** A body field that may carry the key when no header does (PagerDuty's `routing_key`). */
			credentialInBody?: string;
			/** A path parameter that may carry the key (senders that can set no header). */
			credentialInPath?: string;
	  };

/** Who did it, for the audit log. */
export interface Actor {
	principal: Principal | { type: "system"; id: string } | { type: "member"; id: string; role?: Role };
	requestId?: string;
	sourceIp?: string;
}

export type AuthResult =
	| { ok: true; principal: Principal }
	| {
			ok: false;
			code: "auth.invalid_credential" | "auth.key_revoked" | "auth.invalid_token" | "auth.not_a_member";
			message: string;
	  };
