import { cpSync, readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	type CliResult,
	type HttpResponse,
	httpRequest,
	killAllChildren,
	makeTempDir,
	type ReadyInfo,
	readResponse,
	removeDir,
	repoRoot,
	runCli,
	type ServerProcess,
	startCli,
} from "../harness/cli.ts";

/**
 * The README quick start, through the real program: `opswatch serve` on the embedded database
 * (PGlite) in a temporary data dir, no OPSWATCH_ADMIN_TOKEN, then the management commands.
 */

const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
const stackTrace = /^\s+at .+\(.*:\d+:\d+\)$/m;
const defaultShutdownTimeoutMs = 10_000;

const dirs: string[] = [];
/** A data dir with the public schema migrated and no tenant yet (so initdb runs once per file). */
let template: string;

beforeAll(async () => {
	template = makeTempDir("opswatch-cli-template-");
	dirs.push(template);
	const migrated = await runCli(["migrate"], { env: { OPSWATCH_DATA_DIR: template }, timeoutMs: 90_000 });
	if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.stdout}\n${migrated.stderr}`);
}, 120_000);

afterAll(async () => {
	await killAllChildren();
	for (const dir of dirs) removeDir(dir);
});

function freshDataDir(): string {
	const dir = makeTempDir("opswatch-cli-embedded-");
	dirs.push(dir);
	return dir;
}

function dataDirFromTemplate(): string {
	const dir = freshDataDir();
	cpSync(template, dir, { recursive: true });
	return dir;
}

const envFor = (dataDir: string) => ({ OPSWATCH_DATA_DIR: dataDir, OPSWATCH_HOST: "127.0.0.1", OPSWATCH_PORT: "0" });

const cli = (dataDir: string, args: string[]): Promise<CliResult> =>
	runCli(args, { env: envFor(dataDir), timeoutMs: 60_000 });

interface FirstStart {
	adminToken: string;
	apiKey: string;
	banner: string;
}

/** Waits for the whole first-start banner (it may arrive just before or after the ready line). */
async function firstStartBanner(server: ServerProcess): Promise<FirstStart> {
	const banner = await server.waitFor(
		() => /OpsWatch first start[\s\S]*API docs: .*\n=+\n/.exec(server.stdout)?.[0],
		"first-start banner",
		10_000,
	);
	const adminToken = /Platform-admin token \(for \/api\/v1\/admin\/tenants\):\s+(\S+)/.exec(banner)?.[1];
	const apiKey = /Admin API key of tenant "default":\s+(\S+)/.exec(banner)?.[1];
	expect(adminToken).toMatch(/^owadm_[A-Za-z0-9_-]{20,}$/);
	expect(apiKey).toMatch(/^ow_[A-Za-z0-9_-]{20,}$/);
	return { adminToken: adminToken!, apiKey: apiKey!, banner };
}

/** Starts `serve` on the data dir (a first start: the data dir has no tenant) and reads the banner. */
async function startFirstTime(dataDir: string): Promise<{ server: ServerProcess; ready: ReadyInfo } & FirstStart> {
	const server = startCli(["serve"], envFor(dataDir));
	const ready = await server.waitForReady(90_000);
	return { server, ready, ...(await firstStartBanner(server)) };
}

/** Polls until `url` answers 200; fails when that takes longer than `withinMs`. */
async function expect200Within(url: string, withinMs: number): Promise<HttpResponse> {
	const deadline = Date.now() + withinMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			const response = await httpRequest(url, { timeoutMs: Math.max(deadline - Date.now(), 1) });
			if (response.status === 200) return response;
			last = `${response.status} ${response.text}`;
		} catch (error) {
			last = error;
		}
		await sleep(100);
	}
	throw new Error(`${url} did not answer 200 within ${withinMs} ms; last: ${String(last)}`);
}

describe("embedded mode (PGlite in a data dir)", () => {
	it("quick start: first start prints credentials, serves, stops on SIGTERM, and restarts on the same data", {
		timeout: 180_000,
	}, async () => {
		const dataDir = freshDataDir();
		let first: ServerProcess | undefined;
		let second: ServerProcess | undefined;
		try {
			// First start on an empty data dir.
			first = startCli(["serve"], envFor(dataDir));
			const ready = await first.waitForReady(120_000);
			expect(ready.line).toMatchObject({ mode: "all", backend: "pglite", bus: "in-process" });
			expect(ready.line.msg).toContain(`OpsWatch ${version} ready`);
			const { adminToken, apiKey, banner } = await firstStartBanner(first);
			expect(banner).toContain('created tenant "default"');
			expect(banner).toContain(`http://127.0.0.1:${ready.port}/api/v1/me`);

			const healthz = await expect200Within(`${ready.url}/healthz`, 10_000);
			expect(healthz.body).toEqual({ status: "ok" });
			const readyz = await expect200Within(`${ready.url}/readyz`, 10_000 - (Date.now() - ready.at));
			expect(readyz.body).toMatchObject({ status: "ready", checks: { database: "ok" } });
			expect(Date.now() - ready.at).toBeLessThan(10_000);

			const me = await httpRequest(`${ready.url}/api/v1/me`, { key: apiKey });
			expect(me.status, me.text).toBe(200);
			expect(me.body).toMatchObject({ tenant: { slug: "default" }, role: "admin" });
			// The first admin signs in with the one-time password from the banner.
			const [, email, password] = /Admin sign-in: (\S+), one-time password (\S+)/.exec(banner) ?? [];
			const signIn = await httpRequest(`${ready.url}/api/v1/auth/local/login`, {
				method: "POST",
				json: { email, password },
			});
			expect(signIn.status, signIn.text).toBe(204);
			const session = [signIn.headers["set-cookie"]].flat().find((c) => c?.startsWith("opswatch_session="))!;
			const sessionCookie = session.split(";")[0]!;
			const asAdmin = await httpRequest(`${ready.url}/api/v1/me`, { cookie: sessionCookie });
			expect(asAdmin.body).toMatchObject({ tenant: { slug: "default" }, role: "admin", user: { email } });

			// The tenant key is no platform-admin credential, and the admin token acts in no tenant.
			expect((await httpRequest(`${ready.url}/api/v1/admin/tenants`, { key: apiKey })).status).toBe(403);
			expect((await httpRequest(`${ready.url}/api/v1/me`, { bearer: adminToken })).status).toBe(403);

			const created = await httpRequest(`${ready.url}/api/v1/admin/tenants`, {
				method: "POST",
				bearer: adminToken,
				json: { slug: "persisted" },
			});
			expect(created.status, created.text).toBe(201);
			expect(created.body.tenant).toMatchObject({ slug: "persisted" });

			const stopped = await first.stop(defaultShutdownTimeoutMs + 5_000);
			expect(stopped, first.describe()).toMatchObject({ code: 0, signal: null });
			expect(stopped.durationMs).toBeLessThan(defaultShutdownTimeoutMs);
			const logs = first.logs();
			expect(logs.find((l) => /shutting down/.test(String(l.msg)))).toMatchObject({ signal: "SIGTERM" });
			expect(logs.some((l) => l.msg === "stopped")).toBe(true);

			// Credentials were printed for the person at the terminal, never logged.
			expect(logs.length).toBeGreaterThanOrEqual(6);
			expect(logs.some((l) => JSON.stringify(l).includes("/api/v1/me"))).toBe(true);
			for (const line of logs) {
				const text = JSON.stringify(line);
				expect(text).not.toContain(apiKey);
				expect(text).not.toContain(adminToken);
			}
			expect(first.stderr).not.toContain(apiKey);
			expect(first.stderr).not.toContain(adminToken);

			// Restart on the same data dir: no banner, same data, same credentials.
			second = startCli(["serve"], envFor(dataDir));
			const again = await second.waitForReady(60_000);
			const list = await httpRequest(`${again.url}/api/v1/admin/tenants`, { bearer: adminToken });
			expect(list.status, list.text).toBe(200);
			expect(list.body.tenants.map((t: { slug: string }) => t.slug).sort()).toEqual(["default", "persisted"]);
			const meAgain = await httpRequest(`${again.url}/api/v1/me`, { key: apiKey });
			expect(meAgain.status, meAgain.text).toBe(200);
			expect(meAgain.body).toMatchObject({ tenant: { slug: "default" }, role: "admin" });
			// The admin's browser session outlived the restart (sessions are in the database here).
			const stillSignedIn = await httpRequest(`${again.url}/api/v1/me`, { cookie: sessionCookie });
			expect(stillSignedIn.status, stillSignedIn.text).toBe(200);
			expect(second.stdout).not.toContain("first start");
			expect(second.stdout).not.toMatch(/owadm_|ow_[A-Za-z0-9_-]{20,}/);
			expect(await second.stop(defaultShutdownTimeoutMs + 5_000)).toMatchObject({ code: 0 });
			expect(second.stdout).not.toContain("first start");
		} finally {
			await first?.kill();
			await second?.kill();
		}
	});

	it("graceful shutdown: SIGTERM lets an in-flight request finish and refuses new connections", {
		timeout: 120_000,
	}, async () => {
		const dataDir = dataDirFromTemplate();
		const { server, ready, adminToken } = await startFirstTime(dataDir);
		try {
			const body = JSON.stringify({ slug: "inflight", name: "In flight" });
			const half = Math.floor(body.length / 2);
			const request = http.request(`${ready.url}/api/v1/admin/tenants`, {
				method: "POST",
				agent: false,
				headers: {
					authorization: `Bearer ${adminToken}`,
					"content-type": "application/json",
					"content-length": String(Buffer.byteLength(body)),
				},
			});
			const response = new Promise<HttpResponse>((resolve, reject) => {
				request.on("response", (incoming) => readResponse(incoming).then(resolve, reject));
				request.on("error", reject);
			});
			request.write(body.slice(0, half));
			// Fastify logs "incoming request" once it has the headers; then it waits for the rest of the body.
			await server.waitFor(
				() =>
					server.logs().find((l) => {
						const req = l.req as { method?: string; url?: string } | undefined;
						return l.msg === "incoming request" && req?.method === "POST" && req.url === "/api/v1/admin/tenants";
					}),
				"the in-flight request to arrive",
				10_000,
			);
			await sleep(100);

			server.signal("SIGTERM");
			await server.waitForLog(/shutting down/, 5_000);
			await sleep(300);
			expect(server.running).toBe(true);

			const fresh = await httpRequest(`${ready.url}/healthz`, { timeoutMs: 3_000 }).then(
				(r) => r.status,
				(error: NodeJS.ErrnoException) => error.code,
			);
			expect(["ECONNREFUSED", 503]).toContain(fresh);

			request.end(body.slice(half));
			const answer = await response;
			expect(answer.status, answer.text).toBe(201);
			expect(answer.body.tenant).toMatchObject({ slug: "inflight", name: "In flight" });

			const exit = await server.waitForExit(defaultShutdownTimeoutMs + 5_000);
			expect(exit, server.describe()).toEqual({ code: 0, signal: null });
			expect(server.logs().some((l) => l.msg === "stopped")).toBe(true);

			// The finished request's work was committed before the database closed.
			const list = await cli(dataDir, ["tenant", "list"]);
			expect(list.code, list.stderr).toBe(0);
			expect(list.stdout).toMatch(/^inflight\tIn flight\t/m);
		} finally {
			await server.kill();
		}
	});

	it("a second process on the same data dir is refused while the server runs, and the server keeps working", {
		timeout: 120_000,
	}, async () => {
		const dataDir = dataDirFromTemplate();
		const { server, ready, adminToken, apiKey } = await startFirstTime(dataDir);
		try {
			const list = await cli(dataDir, ["tenant", "list"]);
			expect(list.code, `${list.stdout}\n${list.stderr}`).toBe(1);
			expect(list.stderr).toContain(`The embedded database in ${dataDir} is in use by another OpsWatch process`);
			expect(list.stderr).not.toMatch(stackTrace);
			expect(list.stdout).toBe("");

			const serveAgain = await runCli(["serve"], { env: envFor(dataDir), timeoutMs: 45_000 });
			expect(serveAgain.code, `${serveAgain.stdout}\n${serveAgain.stderr}`).toBe(1);
			expect(serveAgain.stderr).toContain("is in use by another OpsWatch process");

			expect((await httpRequest(`${ready.url}/readyz`)).status).toBe(200);
			const me = await httpRequest(`${ready.url}/api/v1/me`, { key: apiKey });
			expect(me.status, me.text).toBe(200);
			const created = await httpRequest(`${ready.url}/api/v1/admin/tenants`, {
				method: "POST",
				bearer: adminToken,
				json: { slug: "after_refusal" },
			});
			expect(created.status, created.text).toBe(201);
			expect(await server.stop()).toMatchObject({ code: 0 });
		} finally {
			await server.kill();
		}
	});

	it("manages tenants and API keys from the CLI while the server is stopped", { timeout: 180_000 }, async () => {
		const dataDir = dataDirFromTemplate();
		const run = (...args: string[]) => cli(dataDir, args);

		const created = await run("tenant", "create", "ops_team", "--name", "Ops Team");
		expect(created.code, created.stderr).toBe(0);
		expect(created.stdout).toContain("Created tenant ops_team (Ops Team) in schema tenant_ops_team.");

		const duplicate = await run("tenant", "create", "ops_team");
		expect(duplicate.code).toBe(1);
		expect(duplicate.stderr).toContain('Tenant "ops_team" already exists');
		expect(duplicate.stderr).not.toMatch(stackTrace);

		const kept = await run("apikey", "create", "--tenant", "ops_team", "--role", "engineer", "--json");
		expect(kept.code, kept.stderr).toBe(0);
		const keptKey = JSON.parse(kept.stdout);
		expect(keptKey).toMatchObject({ tenant: "ops_team", role: "engineer" });
		expect(keptKey.key).toMatch(/^ow_/);
		expect(keptKey.id).toMatch(/^[0-9a-f-]{36}$/);

		const doomed = await run("apikey", "create", "--tenant", "ops_team", "--role", "manager", "--json");
		expect(doomed.code, doomed.stderr).toBe(0);
		const doomedKey = JSON.parse(doomed.stdout);
		expect(doomedKey.key).not.toBe(keptKey.key);

		const superuser = await run("apikey", "create", "--tenant", "ops_team", "--role", "superuser");
		expect(superuser.code).not.toBe(0);
		expect(superuser.code).not.toBeNull();
		expect(superuser.stderr).toContain("superuser");
		expect(superuser.stderr).toContain("admin, manager, engineer, readonly");
		expect(superuser.stdout).not.toMatch(/ow_/);

		const nosuch = await run("apikey", "create", "--tenant", "nosuch", "--role", "admin");
		expect(nosuch.code).toBe(1);
		expect(nosuch.stderr).toContain('Tenant "nosuch" does not exist');
		expect(nosuch.stdout).toBe("");

		const revoked = await run("apikey", "revoke", doomedKey.id, "--tenant", "ops_team");
		expect(revoked.code, revoked.stderr).toBe(0);
		expect(revoked.stdout).toContain(`Revoked API key ${doomedKey.id}.`);

		const keys = await run("apikey", "list", "--tenant", "ops_team");
		expect(keys.code, keys.stderr).toBe(0);
		expect(keys.stdout).not.toContain(keptKey.key);
		expect(keys.stdout).toMatch(new RegExp(`^${keptKey.id}\\t.*\\tengineer\\tactive\\t`, "m"));
		expect(keys.stdout).toMatch(new RegExp(`^${doomedKey.id}\\t.*\\tmanager\\trevoked\\t`, "m"));

		const tenants = await run("tenant", "list");
		expect(tenants.code, tenants.stderr).toBe(0);
		expect(tenants.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^ops_team\tOps Team\t\d{4}-/)]);

		// The server sees what the CLI did; with a tenant present it is no first start.
		const server = startCli(["serve"], envFor(dataDir));
		try {
			const ready = await server.waitForReady(60_000);
			const me = await httpRequest(`${ready.url}/api/v1/me`, { key: keptKey.key });
			expect(me.status, me.text).toBe(200);
			expect(me.body).toMatchObject({ tenant: { slug: "ops_team" }, role: "engineer", apiKeyId: keptKey.id });
			const refused = await httpRequest(`${ready.url}/api/v1/me`, { key: doomedKey.key });
			expect(refused.status).toBe(401);
			expect(refused.body.error.code).toBe("auth.key_revoked");
			expect(server.stdout).not.toContain("first start");
			expect(await server.stop()).toMatchObject({ code: 0 });
		} finally {
			await server.kill();
		}
	});

	it("tenant create with an invalid slug fails with a message about the slug and creates nothing", {
		timeout: 90_000,
	}, async () => {
		const dataDir = dataDirFromTemplate();
		const bad = await cli(dataDir, ["tenant", "create", "Bad"]);
		expect(bad.code).not.toBe(0);
		expect(bad.code).not.toBeNull();
		expect(bad.stderr).toMatch(/slug/i);
		expect(bad.stderr).toContain("must start with a lower-case letter");
		expect(bad.stderr, "a user error, not a crash").not.toMatch(stackTrace);
		expect(bad.stdout).not.toContain("Created tenant");

		const tenants = await cli(dataDir, ["tenant", "list"]);
		expect(tenants.code, tenants.stderr).toBe(0);
		expect(tenants.stdout).toBe("");
	});

	it("`npx opswatch --version` works in a clone and prints the package version", { timeout: 60_000 }, async () => {
		// --no-install: resolve the project's own bin only, never fetch a package of that name.
		const result = await runCli(["--version"], { command: ["npx", "--no-install", "opswatch"], timeoutMs: 45_000 });
		expect(result.code, result.stderr).toBe(0);
		expect(result.stdout).toBe(`${version}\n`);
	});
});
