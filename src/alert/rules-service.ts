import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { type Actor, type TenantRef, writeAudit } from "../tenant/index.ts";
import { assertValidMatchers, type SeverityRule } from "./rules.ts";
import type { RuleInput } from "./rules-store.ts";
import * as store from "./rules-store.ts";

/** Tenant severity rules (`/api/v1/alert-rules`), and the current set for the ingest pipeline. */
export interface SeverityRuleApi {
	list(tenant: TenantRef): Promise<SeverityRule[]>;
	get(tenant: TenantRef, id: string): Promise<SeverityRule>;
	create(tenant: TenantRef, input: RuleInput, actor: Actor): Promise<SeverityRule>;
	/** Fails with 409 when `version` is not the rule's current version (someone changed it meanwhile). */
	update(tenant: TenantRef, id: string, version: number, input: RuleInput, actor: Actor): Promise<SeverityRule>;
	remove(tenant: TenantRef, id: string, actor: Actor): Promise<void>;
	/** The rules ingest applies, cached briefly because every payload needs them. */
	current(tenant: TenantRef): Promise<readonly SeverityRule[]>;
}

/**
 * How long another process may apply rules that were changed elsewhere; this process drops its
 * copy on every change at once.
 */
const RULE_CACHE_MS = 5_000;

const validate = (input: RuleInput) => assertValidMatchers(input.matchers, "alert_rule.invalid_regex");

const notFound = (id: string) => new AppError("not_found", "alert_rule.not_found", `Alert rule ${id} does not exist`);

export function createSeverityRuleService({ db, clock }: { db: Db; clock: Clock }): SeverityRuleApi {
	const cache = new Map<string, { rules: readonly SeverityRule[]; until: number }>();
	const changed = (tenant: TenantRef) => cache.delete(tenant.id);

	return {
		list: (tenant) => store.listRules(db, tenant.schema),

		async get(tenant, id) {
			const rule = await store.findRule(db, tenant.schema, id);
			if (!rule) throw notFound(id);
			return rule;
		},

		async create(tenant, input, actor) {
			validate(input);
			const rule = await db.transaction().execute(async (trx) => {
				const created = await store.insertRule(trx, tenant.schema, input);
				await writeAudit(trx, tenant.schema, actor, {
					action: "alert_rule.create",
					targetType: "alert_rule",
					targetId: created.id,
					after: input,
				});
				return created;
			});
			changed(tenant);
			return rule;
		},

		async update(tenant, id, version, input, actor) {
			validate(input);
			const rule = await db.transaction().execute(async (trx) => {
				const before = await store.findRule(trx, tenant.schema, id);
				if (!before) throw notFound(id);
				const updated = await store.updateRule(trx, tenant.schema, id, version, input, clock.now());
				if (!updated) {
					throw new AppError(
						"conflict",
						"alert_rule.version_conflict",
						`Alert rule ${id} is at version ${before.version}, not ${version}: reload it and apply your change again`,
					);
				}
				await writeAudit(trx, tenant.schema, actor, {
					action: "alert_rule.update",
					targetType: "alert_rule",
					targetId: id,
					before,
					after: input,
				});
				return updated;
			});
			changed(tenant);
			return rule;
		},

		async remove(tenant, id, actor) {
			await db.transaction().execute(async (trx) => {
				const removed = await store.deleteRule(trx, tenant.schema, id);
				if (!removed) throw notFound(id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "alert_rule.delete",
					targetType: "alert_rule",
					targetId: id,
					before: removed,
				});
			});
			changed(tenant);
		},

		async current(tenant) {
			const now = clock.now().getTime();
			const hit = cache.get(tenant.id);
			if (hit && hit.until > now) return hit.rules;
			const rules = await store.listRules(db, tenant.schema);
			cache.set(tenant.id, { rules, until: now + RULE_CACHE_MS });
			return rules;
		},
	};
}
