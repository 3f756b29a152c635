import { type Kysely, type Selectable, sql } from "kysely";
import type { Db } from "../platform/db/index.ts";

/** The public table mapping a Slack team to its tenant. */
type TeamTables = { slack_teams: { team_id: string; tenant_id: string } };

/** The tenant-schema table holding the installation (one row). */
type InstallationTables = {
	slack_installation: {
		singleton: boolean;
		team_id: string;
		team_name: string | null;
		bot_user_id: string | null;
		bot_token_encrypted: string | null;
		signing_secret_encrypted: string | null;
		alert_channel: string | null;
		emergency_channel: string | null;
		installed_by: string;
		created_at: Date;
		updated_at: Date;
	};
};

export type InstallationRow = Selectable<InstallationTables["slack_installation"]>;
export type InstallationValues = Omit<InstallationRow, "singleton" | "created_at" | "updated_at">;

const teams = (db: Db): Kysely<TeamTables> => db.withSchema("public").withTables<TeamTables>();
const tables = (db: Db, schema: string): Kysely<InstallationTables> =>
	db.withSchema(schema).withTables<InstallationTables>();

export async function findTenantIdOfTeam(db: Db, teamId: string): Promise<string | undefined> {
	const row = await teams(db)
		.selectFrom("slack_teams")
		.select("tenant_id")
		.where("team_id", "=", teamId)
		.executeTakeFirst();
	return row?.tenant_id;
}

export async function findInstallation(db: Db, schema: string): Promise<InstallationRow | undefined> {
	return tables(db, schema).selectFrom("slack_installation").selectAll().executeTakeFirst();
}

/** Writes the installation and points its team at the tenant (a team of another tenant violates slack_teams_pkey). */
export async function saveInstallation(
	trx: Db,
	schema: string,
	tenantId: string,
	values: InstallationValues,
	at: Date,
): Promise<InstallationRow> {
	await teams(trx).deleteFrom("slack_teams").where("tenant_id", "=", tenantId).execute();
	await teams(trx).insertInto("slack_teams").values({ team_id: values.team_id, tenant_id: tenantId }).execute();
	return tables(trx, schema)
		.insertInto("slack_installation")
		.values({ ...values, singleton: true, created_at: at, updated_at: at })
		.onConflict((oc) =>
			oc.column("singleton").doUpdateSet({ ...values, created_at: sql`slack_installation.created_at`, updated_at: at }),
		)
		.returningAll()
		.executeTakeFirstOrThrow();
}

export async function deleteInstallation(
	trx: Db,
	schema: string,
	tenantId: string,
): Promise<InstallationRow | undefined> {
	await teams(trx).deleteFrom("slack_teams").where("tenant_id", "=", tenantId).execute();
	return tables(trx, schema).deleteFrom("slack_installation").returningAll().executeTakeFirst();
}
