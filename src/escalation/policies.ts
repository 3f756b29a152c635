import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError, mapPgError } from "../platform/errors.ts";
import type { RosterApi } from "../roster/index.ts";
import { type Actor, type MemberApi, type TenantRef, writeAudit } from "../tenant/index.ts";
import { planEscalation } from "./plan.ts";
import * as store from "./policy-store.ts";
import { rosterResolver } from "./resolver.ts";
import { type DefaultTemplateParameters, defaultPolicy } from "./templates.ts";
import type { PlannedStep, Policy, PolicyInput } from "./types.ts";

/** Escalation policies (`/api/v1/escalation-policies`). */
export interface PolicyApi {
	list(tenant: TenantRef): Promise<Policy[]>;
	get(tenant: TenantRef, id: string): Promise<Policy>;
	create(tenant: TenantRef, input: PolicyInput, actor: Actor): Promise<Policy>;
	createDefault(tenant: TenantRef, parameters: DefaultTemplateParameters, actor: Actor): Promise<Policy>;
	update(tenant: TenantRef, id: string, version: number, input: PolicyInput, actor: Actor): Promise<Policy>;
	/** What an escalation started at `start` would do if nobody acknowledged, sending nothing. */
	dryRun(tenant: TenantRef, id: string, start: Date): Promise<PlannedStep[]>;
}

export interface PolicyServiceDeps {
	db: Db;
	clock: Clock;
	members: Pick<MemberApi, "findMany">;
	rosters: Pick<RosterApi, "get" | "getCurrentOnCall" | "getNextOnCall">;
}

const notFound = (id: string) =>
	new AppError("not_found", "escalation_policy.not_found", `Escalation policy ${id} does not exist`);
const nameTaken = {
	escalation_policies_name_key: {
		code: "escalation_policy.name_taken",
		message: "Another escalation policy has this name",
		field: "body.name",
	},
};

export function createPolicyService({ db, clock, members, rosters }: PolicyServiceDeps): PolicyApi {
	/** Every roster and member a policy names must exist in the tenant. */
	async function checkTargets(tenant: TenantRef, input: PolicyInput): Promise<void> {
		const targets = input.tiers.flatMap((tier, i) =>
			tier.targets.map((target, j) => ({ target, path: `body.tiers.${i}.targets.${j}` })),
		);
		const memberIds = targets.flatMap(({ target }) => (target.type === "member" ? [target.memberId] : []));
		const known = new Set((await members.findMany(tenant, memberIds)).map((m) => m.id));
		for (const { target, path } of targets) {
			if (target.type === "member" && !known.has(target.memberId)) {
				throw new AppError(
					"unprocessable",
					"escalation_policy.unknown_member",
					`No member ${target.memberId} in this tenant`,
					{
						fields: [{ path: `${path}.memberId`, message: "is not a member" }],
					},
				);
			}
			if (target.type === "roster_oncall" || target.type === "roster_next") {
				await rosters.get(tenant, target.rosterId).catch(() => {
					throw new AppError(
						"unprocessable",
						"escalation_policy.unknown_roster",
						`No roster ${target.rosterId} in this tenant`,
						{
							fields: [{ path: `${path}.rosterId`, message: "is not a roster" }],
						},
					);
				});
			}
		}
	}

	const auditView = (p: PolicyInput) => ({
		name: p.name,
		tiers: p.tiers,
		repeat: p.repeat,
		emergencyChannel: p.emergencyChannel,
	});

	async function create(tenant: TenantRef, input: PolicyInput, actor: Actor): Promise<Policy> {
		await checkTargets(tenant, input);
		try {
			return await db.transaction().execute(async (trx) => {
				const policy = await store.insertPolicy(trx, tenant.schema, input, clock.now());
				await writeAudit(trx, tenant.schema, actor, {
					action: "escalation_policy.create",
					targetType: "escalation_policy",
					targetId: policy.id,
					after: auditView(policy),
				});
				return policy;
			});
		} catch (error) {
			throw mapPgError(error, nameTaken);
		}
	}

	return {
		list: (tenant) => store.listPolicies(db, tenant.schema),

		async get(tenant, id) {
			const policy = await store.findPolicy(db, tenant.schema, id);
			if (!policy) throw notFound(id);
			return policy;
		},

		create,
		createDefault: (tenant, parameters, actor) => create(tenant, defaultPolicy(parameters), actor),

		async update(tenant, id, version, input, actor) {
			if (!(await store.findPolicy(db, tenant.schema, id))) throw notFound(id);
			await checkTargets(tenant, input);
			try {
				return await db.transaction().execute(async (trx) => {
					const before = await store.findPolicy(trx, tenant.schema, id);
					if (!before) throw notFound(id);
					const policy = await store.updatePolicy(trx, tenant.schema, id, version, input, clock.now());
					if (!policy) {
						throw new AppError(
							"conflict",
							"escalation_policy.version_conflict",
							`Escalation policy ${id} is at version ${before.version}, not ${version}: reload it and apply your change again`,
						);
					}
					await writeAudit(trx, tenant.schema, actor, {
						action: "escalation_policy.update",
						targetType: "escalation_policy",
						targetId: id,
						before: auditView(before),
						after: auditView(policy),
					});
					return policy;
				});
			} catch (error) {
				throw mapPgError(error, nameTaken);
			}
		},

		async dryRun(tenant, id, start) {
			const policy = await store.findPolicy(db, tenant.schema, id);
			if (!policy) throw notFound(id);
			return planEscalation(policy, start, rosterResolver(rosters, tenant), async (ids) => {
				const found = await members.findMany(tenant, ids);
				return new Map(found.map((m) => [m.id, m.notificationRules]));
			});
		},
	};
}
