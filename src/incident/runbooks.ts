import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { type Actor, actorName, type TenantRef, writeAudit } from "../tenant/index.ts";
import * as store from "./runbook-store.ts";
import { runbookTemplates } from "./templates.ts";
import type { Runbook, RunbookInput, RunbookTemplate, RunbookVersion } from "./types.ts";

/** Runbooks (`/api/v1/runbooks`): Markdown documents with versions, and the templates they can start from. */
export interface RunbookApi {
	list(tenant: TenantRef, filter: { tag?: string; limit: number }): Promise<Runbook[]>;
	/** With `templateId`, missing fields come from that template. */
	create(tenant: TenantRef, input: Partial<RunbookInput> & { templateId?: string }, actor: Actor): Promise<Runbook>;
	get(tenant: TenantRef, id: string): Promise<Runbook>;
	update(tenant: TenantRef, id: string, version: number, input: RunbookInput, actor: Actor): Promise<Runbook>;
	remove(tenant: TenantRef, id: string, actor: Actor): Promise<void>;
	versions(tenant: TenantRef, id: string): Promise<RunbookVersion[]>;
	templates(): RunbookTemplate[];
}

const notFound = (id: string) => new AppError("not_found", "runbook.not_found", `Runbook ${id} does not exist`);

export function createRunbookService({ db, clock }: { db: Db; clock: Clock }): RunbookApi {
	const findTemplate = (id: string) => {
		const template = runbookTemplates().find((t) => t.id === id);
		if (!template) {
			const known = runbookTemplates()
				.map((t) => t.id)
				.join(", ");
			throw new AppError(
				"unprocessable",
				"runbook.unknown_template",
				`No runbook template "${id}"; there are: ${known}`,
				{
					fields: [{ path: "body.templateId", message: "is not a template id" }],
				},
			);
		}
		return template;
	};

	return {
		list: (tenant, filter) => store.listRunbooks(db, tenant.schema, filter),

		async create(tenant, { templateId, ...input }, actor) {
			const template = templateId ? findTemplate(templateId) : undefined;
			const title = input.title ?? template?.title;
			const body = input.body ?? template?.body;
			if (!title || body === undefined) {
				const missing = [!title && "title", body === undefined && "body"].filter(Boolean).join(" and ");
				throw new AppError("validation", "runbook.incomplete", `A runbook needs a ${missing}, or a templateId`, {
					fields: [{ path: `body.${!title ? "title" : "body"}`, message: "is required without a templateId" }],
				});
			}
			const at = clock.now();
			return db.transaction().execute(async (trx) => {
				const created = await store.insertRunbook(
					trx,
					tenant.schema,
					{ title, body, tags: input.tags ?? template?.tags ?? [], templateId: templateId ?? null },
					actorName(actor),
					at,
				);
				await store.insertRunbookVersion(trx, tenant.schema, created);
				await writeAudit(trx, tenant.schema, actor, {
					action: "runbook.create",
					targetType: "runbook",
					targetId: created.id,
					after: { title: created.title, tags: created.tags, templateId: created.templateId },
				});
				return created;
			});
		},

		async get(tenant, id) {
			const runbook = await store.findRunbook(db, tenant.schema, id);
			if (!runbook) throw notFound(id);
			return runbook;
		},

		async update(tenant, id, version, input, actor) {
			const at = clock.now();
			return db.transaction().execute(async (trx) => {
				const before = await store.findRunbook(trx, tenant.schema, id);
				if (!before) throw notFound(id);
				const updated = await store.updateRunbook(trx, tenant.schema, id, version, input, actorName(actor), at);
				if (!updated) {
					throw new AppError(
						"conflict",
						"runbook.version_conflict",
						`Runbook ${id} is at version ${before.version}, not ${version}: reload it and apply your change again`,
					);
				}
				await store.insertRunbookVersion(trx, tenant.schema, updated);
				await writeAudit(trx, tenant.schema, actor, {
					action: "runbook.update",
					targetType: "runbook",
					targetId: id,
					before: { title: before.title, tags: before.tags, version: before.version },
					after: { title: updated.title, tags: updated.tags, version: updated.version },
				});
				return updated;
			});
		},

		async remove(tenant, id, actor) {
			await db.transaction().execute(async (trx) => {
				const removed = await store.deleteRunbook(trx, tenant.schema, id);
				if (!removed) throw notFound(id);
				await writeAudit(trx, tenant.schema, actor, {
					action: "runbook.delete",
					targetType: "runbook",
					targetId: id,
					before: { title: removed.title, version: removed.version },
				});
			});
		},

		async versions(tenant, id) {
			if (!(await store.findRunbook(db, tenant.schema, id))) throw notFound(id);
			return store.listRunbookVersions(db, tenant.schema, id);
		},

		templates: runbookTemplates,
	};
}
