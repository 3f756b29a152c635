import { type ColumnType, type Generated, type Kysely, type RawBuilder, type Selectable, sql } from "kysely";
import { type Db, jsonb } from "../platform/db/index.ts";
import type { Member, MemberInput } from "./member-types.ts";

/** The tenant-schema table this store owns. */
type MemberTables = {
	members: {
		id: Generated<string>;
		name: string;
		email: string;
		time_zone: string;
		contact_methods: ColumnType<Member["contactMethods"], RawBuilder<unknown>, RawBuilder<unknown>>;
		notification_rules: ColumnType<Member["notificationRules"], RawBuilder<unknown>, RawBuilder<unknown>>;
		role: Member["role"];
		password_hash: string | null;
		version: Generated<number>;
		created_at: Generated<Date>;
		updated_at: Date;
	};
};

const tables = (db: Db, schema: string): Kysely<MemberTables> => db.withSchema(schema).withTables<MemberTables>();

const memberFromRow = (row: Selectable<MemberTables["members"]>): Member => ({
	id: row.id,
	name: row.name,
	email: row.email,
	timeZone: row.time_zone,
	contactMethods: row.contact_methods,
	notificationRules: row.notification_rules,
	role: row.role,
	version: row.version,
	createdAt: row.created_at,
	updatedAt: row.updated_at,
});

const writable = (input: MemberInput) => ({
	name: input.name,
	email: input.email,
	time_zone: input.timeZone,
	contact_methods: jsonb(input.contactMethods),
	notification_rules: jsonb(input.notificationRules),
	role: input.role,
});

export async function insertMember(db: Db, schema: string, input: MemberInput, at: Date): Promise<Member> {
	const row = await tables(db, schema)
		.insertInto("members")
		.values({ ...writable(input), updated_at: at })
		.returningAll()
		.executeTakeFirstOrThrow();
	return memberFromRow(row);
}

/** Applies the change only at `version`; undefined when someone changed it meanwhile. */
export async function updateMember(
	db: Db,
	schema: string,
	id: string,
	version: number,
	input: MemberInput,
	at: Date,
): Promise<Member | undefined> {
	const row = await tables(db, schema)
		.updateTable("members")
		.set((eb) => ({ ...writable(input), updated_at: at, version: eb("version", "+", 1) }))
		.where("id", "=", id)
		.where("version", "=", version)
		.returningAll()
		.executeTakeFirst();
	return row && memberFromRow(row);
}

export async function findMember(db: Db, schema: string, id: string): Promise<Member | undefined> {
	const row = await tables(db, schema).selectFrom("members").selectAll().where("id", "=", id).executeTakeFirst();
	return row && memberFromRow(row);
}

export async function findMembers(db: Db, schema: string, ids: string[]): Promise<Member[]> {
	if (ids.length === 0) return [];
	const rows = await tables(db, schema).selectFrom("members").selectAll().where("id", "in", ids).execute();
	return rows.map(memberFromRow);
}

/** The member who lists this contact (a Slack user id, a phone number), if any. */
export async function findMemberByContact(
	db: Db,
	schema: string,
	contact: { type: string; value: string },
): Promise<Member | undefined> {
	const row = await tables(db, schema)
		.selectFrom("members")
		.selectAll()
		.where(sql<boolean>`contact_methods @> ${jsonb([contact])}`)
		.orderBy("created_at")
		.executeTakeFirst();
	return row && memberFromRow(row);
}

export async function findMemberByEmail(db: Db, schema: string, email: string): Promise<Member | undefined> {
	const row = await tables(db, schema)
		.selectFrom("members")
		.selectAll()
		.where(sql<string>`lower(email)`, "=", email.toLowerCase())
		.executeTakeFirst();
	return row && memberFromRow(row);
}

export async function listMembers(db: Db, schema: string): Promise<Member[]> {
	const rows = await tables(db, schema).selectFrom("members").selectAll().orderBy("name").orderBy("id").execute();
	return rows.map(memberFromRow);
}

export async function deleteMember(db: Db, schema: string, id: string): Promise<Member | undefined> {
	const row = await tables(db, schema).deleteFrom("members").where("id", "=", id).returningAll().executeTakeFirst();
	return row && memberFromRow(row);
}

/** The member with this e-mail address and their password hash (null: no local password). */
export async function findMemberCredentials(
	db: Db,
	schema: string,
	email: string,
): Promise<{ member: Member; passwordHash: string | null } | undefined> {
	const row = await tables(db, schema)
		.selectFrom("members")
		.selectAll()
		.where(sql<string>`lower(email)`, "=", email.toLowerCase())
		.executeTakeFirst();
	return row && { member: memberFromRow(row), passwordHash: row.password_hash };
}

export async function findPasswordHash(db: Db, schema: string, memberId: string): Promise<string | null | undefined> {
	const row = await tables(db, schema)
		.selectFrom("members")
		.select("password_hash")
		.where("id", "=", memberId)
		.executeTakeFirst();
	return row?.password_hash;
}

export async function setPasswordHash(
	db: Db,
	schema: string,
	memberId: string,
	hash: string,
	at: Date,
): Promise<boolean> {
	const result = await tables(db, schema)
		.updateTable("members")
		.set({ password_hash: hash, updated_at: at })
		.where("id", "=", memberId)
		.executeTakeFirst();
	return result.numUpdatedRows > 0n;
}
