import type { EventBus } from "../platform/bus/index.ts";
import type { Clock } from "../platform/clock.ts";
import { type Db, loadMigrations, migrateSchema, migrateSchemaInTransaction } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { lruCache } from "../platform/lru.ts";
import {
	type AuditEntry,
	type AuditFilter,
	type AuditRecord,
	actorName,
	listAudit,
	queryAudit,
	writeAudit,
} from "./audit.ts";
import {
	displayPrefix,
	generateAdminToken,
	generateApiKey,
	hashCredential,
	isApiKeyFormat,
	secretsEqual,
} from "./credentials.ts";
import { findMemberByEmail } from "./member-store.ts";
import { looksLikeJwt, type OidcIdentity, type OidcVerifier } from "./oidc.ts";
import type { Role } from "./permissions.ts";
import * as store from "./store.ts";
import {
	type Actor,
	type ApiKey,
	type AuthResult,
	type Principal,
	type Tenant,
	type TenantRef,
	tenantSlug,
} from "./types.ts";

/** The tenant domain's service interface: the only way other code reaches tenants and keys. */
export interface TenantApi {
	createTenant(input: { slug: string; name?: string }, actor: Actor): Promise<Tenant>;
	listTenants(): Promise<Tenant[]>;
	getTenant(slug: string): Promise<Tenant>;
	/** The tenant with this id, if it exists (credentials that name a tenant by id, such as calendar feeds). */
	findTenantById(id: string): Promise<Tenant | undefined>;
	/** Brings every tenant schema up to the newest tenant migration. */
	migrateTenantSchemas(): Promise<{ slug: string; applied: string[] }[]>;
	/** Creates a key and returns it in clear text: the only time it is ever visible. */
	createApiKey(
		input: { tenantSlug: string; role: Role; description?: string; integration?: string; agent?: boolean },
		actor: Actor,
	): Promise<{ key: string; apiKey: ApiKey }>;
	listApiKeys(tenantSlug: string): Promise<ApiKey[]>;
	revokeApiKey(tenantSlug: string, keyId: string, actor: Actor): Promise<ApiKey>;
	/** The principal of a person the identity provider vouched for (a browser session's login). */
	authenticateIdentity(identity: OidcIdentity): Promise<AuthResult>;
	/** Resolves an API key or platform-admin token to who is calling. */
	authenticate(credential: string): Promise<AuthResult>;
	/**
	 * {@link authenticate} without waiting, for a credential this process knows already: the
	 * configured platform-admin token, or an API key it checked within the last minute. Undefined
	 * for any other: ask `authenticate`.
	 */
	authenticateKnown(credential: string): AuthResult | undefined;
	/** Generates a stored platform-admin token (first embedded start); returns it in clear text once. */
	createPlatformAdminToken(description: string): Promise<string>;
	hasPlatformAdminToken(): Promise<boolean>;
	countTenants(): Promise<number>;
	listAudit(tenantSlug: string, limit?: number): Promise<AuditRecord[]>;
	/**
	 * Records a refusal that reached a tenant (a role without the permission, a role change not
	 * allowed, a failed sign-in): the audit log shows attempts, not only changes.
	 */
	recordRefusal(tenant: TenantRef, actor: Actor, entry: AuditEntry): Promise<void>;
	/** The audit-log API: filtered, newest first, a page at a time. */
	queryAudit(
		tenant: TenantRef,
		filter: Omit<AuditFilter, "after"> & { cursor?: string },
	): Promise<{ entries: AuditRecord[]; nextCursor?: string }>;
}

export interface TenantServiceDeps {
	db: Db;
	clock: Clock;
	/** Carries key revocations to every process, so their caches drop the key at once. */
	bus: Pick<EventBus, "publish" | "subscribe">;
	/** OPSWATCH_ADMIN_TOKEN, when configured. */
	adminToken: string | undefined;
	/** Verifies bearer JWTs of the configured OpenID Connect issuer; unset, only API keys work. */
	oidc?: OidcVerifier;
	onBackgroundError?: (error: unknown) => void;
}

/** Writing last_used_at on every request would turn each webhook into a write; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const schemaForSlug = (slug: string): string => `tenant_${slug}`;

/**
 * Every webhook authenticates; a database read per request would be the ingest path's biggest
 * cost. Valid keys are remembered briefly; a revocation clears them here and, over the bus, in
 * every other process (the TTL bounds the damage if that message is lost).
 */
const KEY_CACHE_TTL_MS = 30_000;
const REVOKED_TOPIC = "tenant.apikey_revoked";

export function createTenantService({
	db,
	clock,
	bus,
	adminToken,
	oidc,
	onBackgroundError,
}: TenantServiceDeps): TenantApi {
	/**
	 * A signed-in person: the tenant the token names (or the only one), the member with the token's
	 * e-mail address, and the role the token grants or else the member's.
	 */
	async function authenticateUser(verifier: OidcVerifier, token: string): Promise<AuthResult> {
		const verified = await verifier.verify(token);
		if (!verified.ok) return { ok: false, code: "auth.invalid_token", message: verified.message };
		return authenticateIdentity(verified.identity);
	}

	/** The principal of a person the identity provider vouched for (a bearer token, or a browser session). */
	async function authenticateIdentity(identity: OidcIdentity): Promise<AuthResult> {
		const tenant = await store.findTenantOrOnly(db, identity.tenant);
		if (!tenant) {
			return {
				ok: false,
				code: "auth.not_a_member",
				message: identity.tenant
					? `The token names tenant "${identity.tenant}", which does not exist`
					: "The token names no tenant (its tenant claim is missing)",
			};
		}
		const member = identity.email ? await findMemberByEmail(db, tenant.schema, identity.email) : undefined;
		const role = identity.role ?? member?.role;
		if (!role) {
			return {
				ok: false,
				code: "auth.not_a_member",
				message: `Tenant ${tenant.slug} has no member with this token's e-mail address, and the token grants no role`,
			};
		}
		return {
			ok: true,
			principal: {
				type: "user",
				id: identity.subject,
				tenant: { id: tenant.id, slug: tenant.slug, schema: tenant.schema },
				role,
				memberId: member?.id ?? null,
				email: identity.email ?? null,
			},
		};
	}

	const lastTouched = new Map<string, number>();
	const keyCache = lruCache<string, Extract<Principal, { type: "api_key" }>>(10_000, { ttl: KEY_CACHE_TTL_MS });
	const forgetKey = (keyId: string) => {
		for (const [hash, principal] of keyCache.entries()) if (principal.id === keyId) keyCache.delete(hash);
	};
	// Not awaited: a Redis that is down at start must not stop the API from serving (readyz tells).
	bus
		.subscribe<{ keyId: string }>(REVOKED_TOPIC, ({ payload }) => forgetKey(payload.keyId))
		.catch((error) => onBackgroundError?.(error));

	async function getTenant(slug: string): Promise<Tenant> {
		const tenant = await store.findTenantBySlug(db, slug);
		if (!tenant) throw new AppError("not_found", "tenant.not_found", `Tenant "${slug}" does not exist`);
		return tenant;
	}

	/** The configured platform-admin token, or an API key in the cache (`hash` is the credential's). */
	function knownCredential(credential: string, hash: string): AuthResult | undefined {
		if (adminToken && !isApiKeyFormat(credential) && secretsEqual(credential, adminToken)) {
			return { ok: true, principal: { type: "platform_admin", id: "config" } };
		}
		const cached = keyCache.get(hash);
		if (!cached) return undefined;
		touch(cached.id);
		return { ok: true, principal: cached };
	}

	function touch(keyId: string): void {
		const now = clock.now();
		const last = lastTouched.get(keyId) ?? 0;
		if (now.getTime() - last < LAST_USED_RESOLUTION_MS) return;
		lastTouched.set(keyId, now.getTime());
		store.touchApiKey(db, keyId, now).catch((error) => onBackgroundError?.(error));
	}

	return {
		async createTenant(input, actor) {
			const slug = tenantSlug.safeParse(input.slug);
			if (!slug.success) {
				const message = `Invalid tenant slug "${input.slug}": ${slug.error.issues[0]?.message}`;
				throw new AppError("validation", "tenant.invalid_slug", message, {
					fields: [{ path: "slug", message }],
				});
			}
			const schema = schemaForSlug(slug.data);
			return db.transaction().execute(async (trx) => {
				const tenant = await store.insertTenant(trx, { slug: slug.data, name: input.name ?? slug.data, schema });
				await migrateSchemaInTransaction(trx, { schema, migrations: loadMigrations("tenant") });
				await writeAudit(trx, schema, actor, {
					action: "tenant.create",
					targetType: "tenant",
					targetId: tenant.id,
					after: { slug: tenant.slug, name: tenant.name },
				});
				return tenant;
			});
		},

		listTenants: () => store.listTenants(db),
		getTenant,
		countTenants: () => store.countTenants(db),

		findTenantById: (id) => store.findTenantById(db, id),

		async migrateTenantSchemas() {
			const results = [];
			for (const tenant of await store.listTenants(db)) {
				const applied = await migrateSchema(db, { schema: tenant.schema, migrations: loadMigrations("tenant") });
				results.push({ slug: tenant.slug, applied });
			}
			return results;
		},

		async createApiKey(input, actor) {
			const tenant = await getTenant(input.tenantSlug);
			const key = generateApiKey();
			const createdBy = actorName(actor);
			const apiKey = await db.transaction().execute(async (trx) => {
				const created = await store.insertApiKey(trx, {
					tenant_id: tenant.id,
					key_hash: hashCredential(key),
					key_prefix: displayPrefix(key),
					role: input.role,
					integration: input.integration ?? null,
					agent: input.agent ?? false,
					description: input.description ?? "",
					created_by: createdBy,
					last_used_at: null,
					revoked_at: null,
				});
				await writeAudit(trx, tenant.schema, actor, {
					action: "apikey.create",
					targetType: "api_key",
					targetId: created.id,
					after: {
						role: created.role,
						prefix: created.prefix,
						description: created.description,
						integration: created.integration,
						agent: created.agent,
					},
				});
				return created;
			});
			return { key, apiKey };
		},

		async listApiKeys(slug) {
			const tenant = await getTenant(slug);
			return store.listApiKeys(db, tenant.id);
		},

		async revokeApiKey(slug, keyId, actor) {
			const tenant = await getTenant(slug);
			const { key, changed } = await db.transaction().execute(async (trx) => {
				const revoked = await store.revokeApiKey(trx, tenant.id, keyId, clock.now());
				if (!revoked) {
					const existing = await store.findApiKeyInTenant(trx, tenant.id, keyId);
					if (existing) return { key: existing, changed: false }; // revoking again changes nothing
					throw new AppError("not_found", "apikey.not_found", `API key ${keyId} does not exist in this tenant`);
				}
				await writeAudit(trx, tenant.schema, actor, {
					action: "apikey.revoke",
					targetType: "api_key",
					targetId: revoked.id,
					before: { revokedAt: null },
					after: { revokedAt: revoked.revokedAt },
				});
				return { key: revoked, changed: true };
			});
			if (changed) {
				// After commit: a request that cached the key while the revocation was in flight is cleared too.
				forgetKey(key.id);
				await bus.publish(REVOKED_TOPIC, { keyId: key.id }).catch((error) => onBackgroundError?.(error));
			}
			return key;
		},

		authenticateIdentity,

		authenticateKnown(credential) {
			// An identity provider's token is checked against its keys every time.
			if (oidc && looksLikeJwt(credential)) return undefined;
			return knownCredential(credential, hashCredential(credential));
		},

		async authenticate(credential) {
			if (oidc && looksLikeJwt(credential)) return authenticateUser(oidc, credential);
			const hash = hashCredential(credential);
			const known = knownCredential(credential, hash);
			if (known) return known;
			if (isApiKeyFormat(credential)) {
				const found = await store.findApiKeyByHash(db, hash);
				if (found && !found.key.revokedAt) {
					touch(found.key.id);
					const { tenant, key } = found;
					const principal = {
						type: "api_key" as const,
						id: key.id,
						role: key.role,
						integration: key.integration,
						agent: key.agent,
						tenant: { id: tenant.id, slug: tenant.slug, schema: tenant.schema },
					};
					keyCache.set(hash, principal);
					return { ok: true, principal };
				}
				if (found) return { ok: false, code: "auth.key_revoked", message: "This API key has been revoked" };
			} else {
				const token = await store.findPlatformAdminToken(db, hash);
				if (token) return { ok: true, principal: { type: "platform_admin", id: token.id } };
			}
			return { ok: false, code: "auth.invalid_credential", message: "The credential is not a valid API key or token" };
		},

		async createPlatformAdminToken(description) {
			const token = generateAdminToken();
			await store.insertPlatformAdminToken(db, hashCredential(token), description);
			return token;
		},

		hasPlatformAdminToken: async () => (await store.countPlatformAdminTokens(db)) > 0,

		async listAudit(slug, limit) {
			const tenant = await getTenant(slug);
			return listAudit(db, tenant.schema, limit);
		},

		recordRefusal: (tenant, actor, entry) => writeAudit(db, tenant.schema, actor, entry),

		async queryAudit(tenant, { cursor, ...filter }) {
			const after = cursor ? decodeAuditCursor(cursor) : undefined;
			const rows = await queryAudit(db, tenant.schema, { ...filter, after, limit: filter.limit + 1 });
			const entries = rows.slice(0, filter.limit);
			const last = entries.at(-1);
			return rows.length > filter.limit && last
				? { entries, nextCursor: Buffer.from(`${last.at.toISOString()}|${last.id}`).toString("base64url") }
				: { entries };
		},
	};
}

function decodeAuditCursor(cursor: string): { at: Date; id: string } {
	const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
	const date = new Date(at ?? "");
	if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(date.getTime())) {
		throw new AppError("validation", "audit.invalid_cursor", "The cursor is not one this API gave out", {
			fields: [{ path: "querystring.cursor", message: "is not a cursor from a previous page" }],
		});
	}
	return { at: date, id };
}
