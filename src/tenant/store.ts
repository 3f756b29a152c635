import type { Generated, Insertable, Kysely, Selectable } from "kysely";
import type { Db } from "../platform/db/index.ts";
import { mapPgError } from "../platform/errors.ts";
import type { Role } from "./permissions.ts";
import type { ApiKey, Tenant } from "./types.ts";

/** The public-schema tables this store owns. */
type PublicTables = {
	tenants: {
		id: Generated<string>;
		slug: string;
		name: string;
		schema_name: string;
		created_at: Generated<Date>;
	};
	api_keys: {
		id: Generated<string>;
		tenant_id: string;
		key_hash: string;
		key_prefix: string;
		role: Role;
		integration: string | null;
		agent: Generated<boolean>;
		description: string;
		created_by: string;
		created_at: Generated<Date>;
		last_used_at: Date | null;
		revoked_at: Date | null;
	};
	platform_admin_tokens: {
		id: Generated<string>;
		token_hash: string;
		description: string;
		created_at: Generated<Date>;
	};
};

const tables = (db: Db): Kysely<PublicTables> => db.withSchema("public").withTables<PublicTables>();

const tenantFromRow = (row: Selectable<PublicTables["tenants"]>): Tenant => ({
	id: row.id,
	slug: row.slug,
	name: row.name,
	schema: row.schema_name,
	createdAt: row.created_at,
});

const apiKeyFromRow = (row: Selectable<PublicTables["api_keys"]>): ApiKey => ({
	id: row.id,
	tenantId: row.tenant_id,
	prefix: row.key_prefix,
	role: row.role,
	integration: row.integration,
	agent: row.agent,
	description: row.description,
	createdBy: row.created_by,
	createdAt: row.created_at,
	lastUsedAt: row.last_used_at,
	revokedAt: row.revoked_at,
});

const apiKeyColumns = [
	"id",
	"tenant_id",
	"key_prefix",
	"role",
	"integration",
	"agent",
	"description",
	"created_by",
	"created_at",
	"last_used_at",
	"revoked_at",
] as const;

export async function insertTenant(db: Db, tenant: { slug: string; name: string; schema: string }): Promise<Tenant> {
	try {
		const row = await tables(db)
			.insertInto("tenants")
			.values({ slug: tenant.slug, name: tenant.name, schema_name: tenant.schema })
			.returningAll()
			.executeTakeFirstOrThrow();
		return tenantFromRow(row);
	} catch (error) {
		throw mapPgError(error, {
			tenants_slug_key: { code: "tenant.slug_taken", message: `Tenant "${tenant.slug}" already exists`, field: "slug" },
			tenants_schema_name_key: {
				code: "tenant.slug_taken",
				message: `Tenant "${tenant.slug}" already exists`,
				field: "slug",
			},
		});
	}
}

export async function listTenants(db: Db): Promise<Tenant[]> {
	const rows = await tables(db).selectFrom("tenants").selectAll().orderBy("created_at").orderBy("slug").execute();
	return rows.map(tenantFromRow);
}

export async function findTenantBySlug(db: Db, slug: string): Promise<Tenant | undefined> {
	const row = await tables(db).selectFrom("tenants").selectAll().where("slug", "=", slug).executeTakeFirst();
	return row && tenantFromRow(row);
}

export async function findTenantById(db: Db, id: string): Promise<Tenant | undefined> {
	const row = await tables(db).selectFrom("tenants").selectAll().where("id", "=", id).executeTakeFirst();
	return row && tenantFromRow(row);
}

export async function countTenants(db: Db): Promise<number> {
	const row = await tables(db)
		.selectFrom("tenants")
		.select((eb) => eb.fn.countAll<string>().as("count"))
		.executeTakeFirstOrThrow();
	return Number(row.count);
}

export async function insertApiKey(db: Db, key: Insertable<PublicTables["api_keys"]>): Promise<ApiKey> {
	const row = await tables(db).insertInto("api_keys").values(key).returning(apiKeyColumns).executeTakeFirstOrThrow();
	return apiKeyFromRow({ ...row, key_hash: "" });
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKey[]> {
	const rows = await tables(db)
		.selectFrom("api_keys")
		.select(apiKeyColumns)
		.where("tenant_id", "=", tenantId)
		.orderBy("created_at")
		.execute();
	return rows.map((row) => apiKeyFromRow({ ...row, key_hash: "" }));
}

/** Marks a key revoked; scoped by tenant so one tenant can never touch another's keys. */
export async function revokeApiKey(db: Db, tenantId: string, keyId: string, at: Date): Promise<ApiKey | undefined> {
	const row = await tables(db)
		.updateTable("api_keys")
		.set({ revoked_at: at })
		.where("id", "=", keyId)
		.where("tenant_id", "=", tenantId)
		.where("revoked_at", "is", null)
		.returning(apiKeyColumns)
		.executeTakeFirst();
	return row && apiKeyFromRow({ ...row, key_hash: "" });
}

export async function findApiKeyInTenant(db: Db, tenantId: string, keyId: string): Promise<ApiKey | undefined> {
	const row = await tables(db)
		.selectFrom("api_keys")
		.select(apiKeyColumns)
		.where("id", "=", keyId)
		.where("tenant_id", "=", tenantId)
		.executeTakeFirst();
	return row && apiKeyFromRow({ ...row, key_hash: "" });
}

/** The key with its tenant, by hash: the lookup behind every API-key-authenticated request. */
export async function findApiKeyByHash(db: Db, keyHash: string): Promise<{ key: ApiKey; tenant: Tenant } | undefined> {
	const row = await tables(db)
		.selectFrom("api_keys as k")
		.innerJoin("tenants as t", "t.id", "k.tenant_id")
		.select([
			"k.id",
			"k.tenant_id",
			"k.key_prefix",
			"k.role",
			"k.integration",
			"k.agent",
			"k.description",
			"k.created_by",
			"k.created_at",
			"k.last_used_at",
			"k.revoked_at",
			"t.slug",
			"t.name",
			"t.schema_name",
			"t.created_at as tenant_created_at",
		])
		.where("k.key_hash", "=", keyHash)
		.executeTakeFirst();
	if (!row) return undefined;
	return {
		key: apiKeyFromRow({ ...row, key_hash: "" }),
		tenant: tenantFromRow({
			id: row.tenant_id,
			slug: row.slug,
			name: row.name,
			schema_name: row.schema_name,
			created_at: row.tenant_created_at,
		}),
	};
}

export async function touchApiKey(db: Db, keyId: string, at: Date): Promise<void> {
	await tables(db).updateTable("api_keys").set({ last_used_at: at }).where("id", "=", keyId).execute();
}

export async function insertPlatformAdminToken(db: Db, tokenHash: string, description: string): Promise<void> {
	await tables(db).insertInto("platform_admin_tokens").values({ token_hash: tokenHash, description }).execute();
}

export async function findPlatformAdminToken(db: Db, tokenHash: string): Promise<{ id: string } | undefined> {
	return tables(db)
		.selectFrom("platform_admin_tokens")
		.select("id")
		.where("token_hash", "=", tokenHash)
		.executeTakeFirst();
}

export async function countPlatformAdminTokens(db: Db): Promise<number> {
	const row = await tables(db)
		.selectFrom("platform_admin_tokens")
		.select((eb) => eb.fn.countAll<string>().as("count"))
		.executeTakeFirstOrThrow();
	return Number(row.count);
}

/** The tenant a sign-in names, or, when it names none, the deployment's only tenant (if there is one). */
export async function findTenantOrOnly(db: Db, slug: string | undefined): Promise<Tenant | undefined> {
	if (slug) return findTenantBySlug(db, slug);
	const all = await listTenants(db);
	return all.length === 1 ? all[0] : undefined;
}
