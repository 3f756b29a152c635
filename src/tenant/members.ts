import { IANAZone } from "luxon";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError, mapPgError } from "../platform/errors.ts";
import { writeAudit } from "./audit.ts";
import * as store from "./member-store.ts";
import type { ContactMethod, Member, MemberInput } from "./member-types.ts";
import type { Role } from "./permissions.ts";
import type { Actor, TenantRef } from "./types.ts";

/** The people of a tenant who can be on call (`/api/v1/members`). */
export interface MemberApi {
	list(tenant: TenantRef): Promise<Member[]>;
	get(tenant: TenantRef, id: string): Promise<Member>;
	/** The members among `ids`, for checking roster participants. */
	findMany(tenant: TenantRef, ids: string[]): Promise<Member[]>;
	/** The member who lists this contact method (e.g. their Slack user id), if any. */
	findByContact(tenant: TenantRef, contact: ContactMethod): Promise<Member | undefined>;
	/** The member with this e-mail address, compared without regard to case. */
	findByEmail(tenant: TenantRef, email: string): Promise<Member | undefined>;
	create(tenant: TenantRef, input: MemberInput, actor: Actor): Promise<Member>;
	update(tenant: TenantRef, id: string, version: number, input: MemberInput, actor: Actor): Promise<Member>;
	remove(tenant: TenantRef, id: string, actor: Actor): Promise<void>;
}

export interface MemberServiceDeps {
	db: Db;
	clock: Clock;
	/** Why a member cannot be removed (e.g. "takes part in roster Primary"), from the domains that use members. */
	usage?: (tenant: TenantRef, memberId: string) => Promise<string | undefined>;
}

const notFound = (id: string) => new AppError("not_found", "member.not_found", `Member ${id} does not exist`);
const emailTaken = {
	members_email_key: {
		code: "member.email_taken",
		message: "Another member has this e-mail address",
		field: "body.email",
	},
};

/** What the audit log keeps of a member: no contact details, which are personal data. */
const auditView = (
	m: Pick<Member, "name" | "email" | "timeZone" | "contactMethods" | "notificationRules" | "role">,
) => ({
	name: m.name,
	role: m.role,
	email: m.email,
	timeZone: m.timeZone,
	contactMethodTypes: m.contactMethods.map((c) => c.type),
	notificationRules: m.notificationRules,
});

/**
 * Admins manage roles (spec §5.2): anyone else who may manage members keeps their roles as they
 * are, and gives new members the engineer or readonly role only.
 */
function roleChangeRefusal(actor: Actor, from: Role | undefined, to: Role): AppError | undefined {
	const principal = actor.principal;
	// System actors (the CLI, the first start) act with full rights; a person's or key's role decides otherwise.
	if (principal.type === "system" || principal.type === "platform_admin") return undefined;
	const actorRole = "role" in principal ? principal.role : undefined;
	if (actorRole === "admin" || from === to) return undefined;
	if (from === undefined && (to === "engineer" || to === "readonly")) return undefined;
	return new AppError(
		"forbidden",
		"member.role_change_denied",
		from === undefined
			? `Only an admin adds a member with the ${to} role`
			: `Only an admin changes a member's role (from ${from} to ${to})`,
	);
}

function checkZone(input: MemberInput): void {
	if (!IANAZone.isValidZone(input.timeZone)) {
		throw new AppError("validation", "member.invalid_time_zone", `"${input.timeZone}" is not an IANA time zone`, {
			fields: [{ path: "body.timeZone", message: "is not an IANA time zone such as Europe/Berlin" }],
		});
	}
}

export function createMemberService({ db, clock, usage }: MemberServiceDeps): MemberApi {
	/** Refuses a role change the actor may not make, and audits the attempt (outside any transaction). */
	async function refuseRoleChange(
		tenant: TenantRef,
		actor: Actor,
		from: Role | undefined,
		to: Role,
		memberId?: string,
	) {
		const refusal = roleChangeRefusal(actor, from, to);
		if (!refusal) return;
		await writeAudit(db, tenant.schema, actor, {
			action: "member.role_change_denied",
			targetType: "member",
			...(memberId && { targetId: memberId }),
			before: from === undefined ? undefined : { role: from },
			after: { role: to },
		});
		throw refusal;
	}

	return {
		list: (tenant) => store.listMembers(db, tenant.schema),

		async get(tenant, id) {
			const member = await store.findMember(db, tenant.schema, id);
			if (!member) throw notFound(id);
			return member;
		},

		findMany: (tenant, ids) => store.findMembers(db, tenant.schema, ids),
		findByContact: (tenant, contact) => store.findMemberByContact(db, tenant.schema, contact),
		findByEmail: (tenant, email) => store.findMemberByEmail(db, tenant.schema, email),

		async create(tenant, input, actor) {
			checkZone(input);
			await refuseRoleChange(tenant, actor, undefined, input.role);
			try {
				return await db.transaction().execute(async (trx) => {
					const member = await store.insertMember(trx, tenant.schema, input, clock.now());
					await writeAudit(trx, tenant.schema, actor, {
						action: "member.create",
						targetType: "member",
						targetId: member.id,
						after: auditView(member),
					});
					return member;
				});
			} catch (error) {
				throw mapPgError(error, emailTaken);
			}
		},

		async update(tenant, id, version, input, actor) {
			checkZone(input);
			try {
				const current = await store.findMember(db, tenant.schema, id);
				if (!current) throw notFound(id);
				await refuseRoleChange(tenant, actor, current.role, input.role, id);
				return await db.transaction().execute(async (trx) => {
					const before = await store.findMember(trx, tenant.schema, id);
					if (!before) throw notFound(id);
					// The role changed meanwhile: the version check below refuses the write.
					const member = await store.updateMember(trx, tenant.schema, id, version, input, clock.now());
					if (!member) {
						throw new AppError(
							"conflict",
							"member.version_conflict",
							`Member ${id} is at version ${before.version}, not ${version}: reload and apply your change again`,
						);
					}
					await writeAudit(trx, tenant.schema, actor, {
						action: "member.update",
						targetType: "member",
						targetId: id,
						before: auditView(before),
						after: auditView(member),
					});
					return member;
				});
			} catch (error) {
				throw mapPgError(error, emailTaken);
			}
		},

		async remove(tenant, id, actor) {
			const reason = await usage?.(tenant, id);
			if (reason) {
				throw new AppError("conflict", "member.in_use", `Member ${id} cannot be removed: ${reason}`);
			}
			await db.transaction().execute(async (trx) => {
				const removed = await store.deleteMember(trx, tenant.schema, id);
				if (!removed) throw notFound(id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "member.delete",
					targetType: "member",
					targetId: id,
					before: auditView(removed),
				});
			});
		},
	};
}
