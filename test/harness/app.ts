import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { EscalationStarter } from "../../src/alert/index.ts";
import { type Config, loadConfig } from "../../src/app/config.ts";
import { type Mode, type Running, startServer } from "../../src/app/serve.ts";
import type { Clock } from "../../src/platform/clock.ts";
import { openDatabase } from "../../src/platform/db/index.ts";
import { createLogger } from "../../src/platform/log.ts";
import type { Role } from "../../src/tenant/index.ts";
import { testRedisUrl } from "./backend.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely and assert their shape
export interface ApiResponse<T = any> {
	status: number;
	headers: Headers;
	body: T;
	text: string;
}

export interface RequestOptions {
	/** Sent as X-API-Key. */
	key?: string;
	/** Serialised as JSON with Content-Type application/json. */
	json?: unknown;
	/** Sent as is (use with `headers` for content type). */
	body?: string | Buffer;
	headers?: Record<string, string>;
	/** Read the status and headers, then drop the body (for streams that never end). */
	headersOnly?: boolean;
}

export interface TestTenant {
	slug: string;
	id: string;
	/** An admin API key of the tenant. */
	adminKey: string;
	keyFor(role: Role): Promise<string>;
}

export interface TestApp {
	url: string;
	config: Config;
	running: Running;
	database: TestDatabase;
	adminToken: string;
	/** Log lines, when started with captureLogs. */
	logs: string[];
	// biome-ignore lint/suspicious/noExplicitAny: as above
	request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
	/** A new tenant (unique slug) with an admin key, created through the admin API. */
	newTenant(prefix?: string): Promise<TestTenant>;
	close(): Promise<void>;
}

/**
 * Boots the real server (same start path as `opswatch serve`) on this file's own database,
 * with Redis when TEST_REDIS_URL is set, listening on a random 127.0.0.1 port.
 */
export async function startTestApp(
	options: {
		env?: Record<string, string>;
		mode?: Mode;
		escalation?: EscalationStarter;
		clock?: Clock;
		/**
		 * Listen on a port chosen before start and make it the public URL, for providers that call
		 * back at the address OpsWatch puts in its requests (Twilio signs exactly that URL).
		 */
		reachable?: boolean;
		/** Keep every log line (info and up) in `logs`, to check what a person would read. */
		captureLogs?: boolean;
		/**
		 * A second process of the same deployment (PostgreSQL + Redis runs only): same database, same
		 * Redis prefix, same admin token, so the two share state and events as replicas do.
		 */
		replicaOf?: TestApp;
	} = {},
): Promise<TestApp> {
	const replicaOf = options.replicaOf;
	const adminToken = replicaOf?.adminToken ?? `test-admin-${randomBytes(24).toString("hex")}`;
	const port = options.reachable ? await freePort() : 0;
	const config = loadConfig({
		env: {
			OPSWATCH_HOST: "127.0.0.1",
			OPSWATCH_PORT: String(port),
			...(options.reachable && { OPSWATCH_PUBLIC_URL: `http://127.0.0.1:${port}` }),
			OPSWATCH_ADMIN_TOKEN: adminToken,
			// Replicas share the key that seals stored secrets, as a deployment's processes must.
			OPSWATCH_SECRET_KEY: replicaOf?.config.secretKey?.toString("hex") ?? randomBytes(32).toString("hex"),
			OPSWATCH_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
			...(testRedisUrl && {
				OPSWATCH_REDIS_URL: testRedisUrl,
				OPSWATCH_REDIS_PREFIX: replicaOf?.config.redisPrefix ?? `test:${randomUUID()}:`,
			}),
			...options.env,
		},
	});
	const database: TestDatabase = replicaOf?.database.url
		? await openDatabase({ backend: "postgres", url: replicaOf.database.url, poolSize: 5 })
		: await createTestDatabase();
	const logs: string[] = [];
	const running = await startServer(config, options.mode ?? "all", "test", {
		database,
		logger: options.captureLogs
			? createLogger("info", { write: (line: string) => void logs.push(line) })
			: createLogger(config.logLevel),
		firstStart: false,
		escalation: options.escalation,
		clock: options.clock,
	});
	const address = running.app.server.address();
	if (!address || typeof address === "string") throw new Error("server has no TCP address");
	const url = `http://127.0.0.1:${address.port}`;

	async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
		const headers: Record<string, string> = { ...opts.headers };
		if (opts.key) headers["x-api-key"] = opts.key;
		let body: string | Buffer | undefined = opts.body;
		if (opts.json !== undefined) {
			headers["content-type"] ??= "application/json";
			body = JSON.stringify(opts.json);
		}
		// Redirects are answers to check (the Slack install), not to follow.
		const response = await fetch(url + path, { method, headers, body, redirect: "manual" });
		if (opts.headersOnly) {
			await response.body?.cancel();
			return { status: response.status, headers: response.headers, body: undefined as T, text: "" };
		}
		const text = await response.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {}
		return { status: response.status, headers: response.headers, body: parsed as T, text };
	}

	let tenantCounter = 0;
	async function newTenant(prefix = "t"): Promise<TestTenant> {
		const slug = `${prefix}_${randomBytes(4).toString("hex")}_${tenantCounter++}`;
		const created = await request("POST", "/api/v1/admin/tenants", { key: adminToken, json: { slug } });
		if (created.status !== 201) throw new Error(`tenant creation failed: ${created.status} ${created.text}`);
		const keyFor = async (role: Role) => {
			const response = await request("POST", `/api/v1/admin/tenants/${slug}/api-keys`, {
				key: adminToken,
				json: { role, description: `test ${role}` },
			});
			if (response.status !== 201) throw new Error(`key creation failed: ${response.status} ${response.text}`);
			return (response.body as { key: string }).key;
		};
		return {
			slug,
			id: (created.body as { tenant: { id: string } }).tenant.id,
			adminKey: await keyFor("admin"),
			keyFor,
		};
	}

	return {
		url,
		config,
		running,
		database,
		adminToken,
		logs,
		request,
		newTenant,
		close: () => running.stop(),
	};
}

/** A TCP port free at this moment on 127.0.0.1. */
export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	await new Promise((resolve) => server.close(resolve));
	if (!address || typeof address === "string") throw new Error("no port");
	return address.port;
}
