import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabaseUrl, testRedisUrl } from "../harness/backend.ts";
import {
	type CliEnv,
	httpRequest,
	killAllChildren,
	makeTempDir,
	removeDir,
	repoRoot,
	runCli,
	type ServerProcess,
	startCli,
} from "../harness/cli.ts";
import { createEmptyPostgresDatabase } from "../harness/database.ts";

/**
 * The PostgreSQL (and Redis) deployment through the real program: several processes on one
 * database. Without TEST_DATABASE_URL only the embedded counterpart is defined.
 */

const dirs: string[] = [];
const drops: (() => Promise<void>)[] = [];

afterAll(async () => {
	await killAllChildren();
	await Promise.allSettled(drops.map((drop) => drop()));
	for (const dir of dirs) removeDir(dir);
});

function tempDir(): string {
	const dir = makeTempDir("opswatch-cli-pg-");
	dirs.push(dir);
	return dir;
}

/** Migration versions (`0001`, …) of one set, from the files. */
function migrationVersions(set: "public" | "tenant"): string[] {
	return readdirSync(join(repoRoot, "migrations", set))
		.filter((file) => file.endsWith(".sql"))
		.sort()
		.map((file) => file.slice(0, 4));
}

async function appliedVersions(url: string, schema: string): Promise<string[]> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		const { rows } = await client.query<{ version: string }>(
			`select version from ${schema}.schema_migrations order by version, applied_at`,
		);
		return rows.map((row) => row.version);
	} finally {
		await client.end();
	}
}

async function freshDatabase(): Promise<string> {
	const { url, drop } = await createEmptyPostgresDatabase();
	drops.push(drop);
	return url;
}

const adminToken = () => `cli-admin-${randomBytes(24).toString("hex")}`;

if (testDatabaseUrl) {
	describe("PostgreSQL backend, several processes", () => {
		it("concurrent migrations are safe: each migration is applied exactly once", { timeout: 180_000 }, async () => {
			const url = await freshDatabase();
			const dataDir = tempDir(); // unused with PostgreSQL: must stay empty
			const env: CliEnv = { OPSWATCH_DATABASE_URL: url, OPSWATCH_DATA_DIR: dataDir };
			const migrate = () => runCli(["migrate"], { env, timeoutMs: 90_000 });

			const first = await Promise.all([migrate(), migrate(), migrate(), migrate()]);
			for (const result of first) {
				expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
				expect(result.stdout).toBe("Migrations are up to date.\n");
				expect(result.stderr).toBe("");
			}
			const publicVersions = migrationVersions("public");
			expect(publicVersions.length).toBeGreaterThan(0);
			expect(await appliedVersions(url, "public")).toEqual(publicVersions);

			for (const slug of ["alpha", "beta"]) {
				const created = await runCli(["tenant", "create", slug], { env, timeoutMs: 60_000 });
				expect(created.code, created.stderr).toBe(0);
				expect(created.stdout).toContain(`Created tenant ${slug}`);
			}

			const second = await Promise.all([migrate(), migrate(), migrate()]);
			for (const result of second) {
				expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
				expect(result.stdout).toBe("Migrations are up to date.\n");
			}
			const tenantVersions = migrationVersions("tenant");
			expect(tenantVersions.length).toBeGreaterThan(0);
			expect(await appliedVersions(url, "public")).toEqual(publicVersions);
			expect(await appliedVersions(url, "tenant_alpha")).toEqual(tenantVersions);
			expect(await appliedVersions(url, "tenant_beta")).toEqual(tenantVersions);

			const list = await runCli(["tenant", "list"], { env, timeoutMs: 60_000 });
			expect(
				list.stdout
					.trim()
					.split("\n")
					.map((line) => line.split("\t")[0]),
			).toEqual(["alpha", "beta"]);
			expect(readdirSync(dataDir)).toEqual([]);
		});

		it("two `serve --mode=all` processes started together on one database both become ready and share state", {
			timeout: 180_000,
		}, async () => {
			const url = await freshDatabase();
			const dataDir = tempDir();
			const env: CliEnv = {
				OPSWATCH_DATABASE_URL: url,
				OPSWATCH_ADMIN_TOKEN: adminToken(),
				OPSWATCH_HOST: "127.0.0.1",
				OPSWATCH_PORT: "0",
				OPSWATCH_DATA_DIR: dataDir,
			};
			const token = env.OPSWATCH_ADMIN_TOKEN!;
			const servers: ServerProcess[] = [startCli(["serve", "--mode=all"], env), startCli(["serve", "--mode=all"], env)];
			try {
				const [a, b] = await Promise.all(servers.map((server) => server.waitForReady(90_000)));
				expect(a!.port).not.toBe(b!.port);
				for (const ready of [a!, b!]) {
					expect(ready.line).toMatchObject({ mode: "all", backend: "postgres", bus: "in-process" });
					const readyz = await httpRequest(`${ready.url}/readyz`);
					expect(readyz.status, readyz.text).toBe(200);
					expect(readyz.body.checks).toEqual({ database: "ok" });
				}

				const viaA = await httpRequest(`${a!.url}/api/v1/admin/tenants`, {
					method: "POST",
					bearer: token,
					json: { slug: "made_on_a", name: "Made on A" },
				});
				expect(viaA.status, viaA.text).toBe(201);
				const listedOnB = await httpRequest(`${b!.url}/api/v1/admin/tenants`, { bearer: token });
				expect(listedOnB.status, listedOnB.text).toBe(200);
				expect(listedOnB.body.tenants).toEqual([expect.objectContaining({ slug: "made_on_a", name: "Made on A" })]);

				// A key made through B works on A.
				const key = await httpRequest(`${b!.url}/api/v1/admin/tenants/made_on_a/api-keys`, {
					method: "POST",
					bearer: token,
					json: { role: "readonly" },
				});
				expect(key.status, key.text).toBe(201);
				const me = await httpRequest(`${a!.url}/api/v1/me`, { key: key.body.key });
				expect(me.status, me.text).toBe(200);
				expect(me.body).toMatchObject({ tenant: { slug: "made_on_a" }, role: "readonly" });

				// Without OPSWATCH_SECRET_KEY, a PostgreSQL deployment stores no secrets (each process
				// would seal with a key of its own), and says what to set; it writes no key file.
				const admin = await httpRequest(`${b!.url}/api/v1/admin/tenants/made_on_a/api-keys`, {
					method: "POST",
					bearer: token,
					json: { role: "admin" },
				});
				const slack = await httpRequest(`${a!.url}/api/v1/slack/installation`, {
					method: "PUT",
					key: admin.body.key,
					json: { teamId: "T0POSTGRES", botToken: "xoxb-not-stored" },
				});
				expect(slack.status, slack.text).toBe(422);
				expect(slack.body.error).toMatchObject({
					code: "secret_key.missing",
					message: expect.stringMatching(/OPSWATCH_SECRET_KEY/),
				});
				expect(slack.text).not.toContain("xoxb-not-stored");

				// The first-start bootstrap belongs to the embedded database only.
				for (const server of servers) expect(server.stdout).not.toContain("first start");
				expect(await appliedVersions(url, "public")).toEqual(migrationVersions("public"));

				const stopped = await Promise.all(servers.map((server) => server.stop()));
				for (const result of stopped) expect(result).toMatchObject({ code: 0, signal: null });
				expect(readdirSync(dataDir)).toEqual([]);
			} finally {
				await Promise.all(servers.map((server) => server.kill()));
			}
		});

		if (testRedisUrl) {
			it("`serve --mode=api` and `serve --mode=worker` run on PostgreSQL and Redis, each serving its part", {
				timeout: 180_000,
			}, async () => {
				const url = await freshDatabase();
				const env: CliEnv = {
					OPSWATCH_DATABASE_URL: url,
					OPSWATCH_REDIS_URL: testRedisUrl,
					OPSWATCH_REDIS_PREFIX: `test:cli:${randomUUID()}:`,
					OPSWATCH_ADMIN_TOKEN: adminToken(),
					OPSWATCH_HOST: "127.0.0.1",
					OPSWATCH_PORT: "0",
					OPSWATCH_DATA_DIR: tempDir(),
				};
				const token = env.OPSWATCH_ADMIN_TOKEN!;
				const api = startCli(["serve", "--mode=api"], env);
				const worker = startCli(["serve", "--mode=worker"], env);
				try {
					const [apiReady, workerReady] = await Promise.all([api.waitForReady(90_000), worker.waitForReady(90_000)]);
					expect(apiReady.line).toMatchObject({ mode: "api", backend: "postgres", bus: "redis" });
					expect(workerReady.line).toMatchObject({ mode: "worker", backend: "postgres", bus: "redis" });

					const created = await httpRequest(`${apiReady.url}/api/v1/admin/tenants`, {
						method: "POST",
						bearer: token,
						json: { slug: "split" },
					});
					expect(created.status, created.text).toBe(201);
					const list = await httpRequest(`${apiReady.url}/api/v1/admin/tenants`, { bearer: token });
					expect(list.status, list.text).toBe(200);
					expect(list.body.tenants.map((t: { slug: string }) => t.slug)).toEqual(["split"]);
					const apiReadyz = await httpRequest(`${apiReady.url}/readyz`);
					expect(apiReadyz.status, apiReadyz.text).toBe(200);
					expect(apiReadyz.body.checks).toEqual({ database: "ok", redis: "ok" });

					const healthz = await httpRequest(`${workerReady.url}/healthz`);
					expect(healthz.status).toBe(200);
					const readyz = await httpRequest(`${workerReady.url}/readyz`);
					expect(readyz.status, readyz.text).toBe(200);
					expect(readyz.body).toMatchObject({ status: "ready", checks: { database: "ok", redis: "ok" } });
					const adminOnWorker = await httpRequest(`${workerReady.url}/api/v1/admin/tenants`, { bearer: token });
					expect(adminOnWorker.status, adminOnWorker.text).toBe(404);

					// The worker runs the jobs; the API process does not.
					expect(worker.logs().some((l) => l.msg === "worker started")).toBe(true);
					expect(api.logs().some((l) => l.msg === "worker started")).toBe(false);

					const stopped = await Promise.all([api.stop(), worker.stop()]);
					for (const result of stopped) expect(result).toMatchObject({ code: 0, signal: null });
				} finally {
					await Promise.all([api.kill(), worker.kill()]);
				}
			});
		}
	});
} else {
	describe("embedded database (no TEST_DATABASE_URL)", () => {
		it("`migrate` twice on one PGlite data dir succeeds both times and releases the data dir", {
			timeout: 120_000,
		}, async () => {
			const dataDir = tempDir();
			const env: CliEnv = { OPSWATCH_DATA_DIR: dataDir };
			const first = await runCli(["migrate"], { env, timeoutMs: 90_000 });
			expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
			expect(first.stdout).toBe("Migrations are up to date.\n");
			expect(existsSync(join(dataDir, "pgdata"))).toBe(true);
			expect(existsSync(join(dataDir, "opswatch.lock"))).toBe(false);

			const second = await runCli(["migrate"], { env, timeoutMs: 90_000 });
			expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
			expect(second.stdout).toBe("Migrations are up to date.\n");
			expect(second.stderr).toBe("");
			expect(existsSync(join(dataDir, "opswatch.lock"))).toBe(false);

			const list = await runCli(["tenant", "list"], { env, timeoutMs: 60_000 });
			expect(list.code, list.stderr).toBe(0);
			expect(list.stdout).toBe("");
		});
	});
}
