import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliEnv, type CliResult, killAllChildren, makeTempDir, removeDir, runCli } from "../harness/cli.ts";

/**
 * `opswatch check-config` and start-up refusals, through the real program. No database is
 * opened here: every `serve` below must refuse before touching its (temporary) data dir.
 */

let dir: string;
beforeAll(() => {
	dir = makeTempDir("opswatch-cli-config-");
});
afterAll(async () => {
	await killAllChildren();
	removeDir(dir);
});

const stackTrace = /^\s+at .+\(.*:\d+:\d+\)$/m;

async function checkConfig(env: CliEnv, args: string[] = []): Promise<Record<string, unknown>> {
	const result = await runCli([...args, "check-config"], { env });
	expect(result.stderr, result.stderr).toBe("");
	expect(result.code).toBe(0);
	return JSON.parse(result.stdout) as Record<string, unknown>;
}

function expectConfigError(result: CliResult, ...mentions: string[]): void {
	expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(2);
	expect(result.stdout).toBe("");
	expect(result.stderr).toMatch(/^opswatch: /);
	for (const mention of mentions) expect(result.stderr).toContain(mention);
	expect(result.stderr).not.toMatch(stackTrace);
}

function writeYaml(name: string, text: string): string {
	const file = join(dir, name);
	writeFileSync(file, text);
	return file;
}

/** A data dir for `serve` runs that must refuse to start: it has to stay empty. */
function emptyDataDir(name: string): string {
	return makeTempDir(`opswatch-cli-config-${name}-`);
}

describe.concurrent("opswatch check-config", () => {
	it("prints the defaults as JSON", { timeout: 60_000 }, async () => {
		const config = await checkConfig({});
		expect(config).toEqual({
			host: "0.0.0.0",
			port: 8080,
			data_dir: "./data",
			database_url: null,
			database_pool_size: 10,
			redis_url: null,
			redis_prefix: "opswatch:",
			log_level: "info",
			body_limit_bytes: 1048576,
			admin_token: null,
			dedup_window_ms: 300000,
			max_alerts_per_request: 1000,
			otlp_endpoint: null,
			shutdown_timeout_ms: 10000,
			public_url: null,
			provider_timeout_ms: 10000,
			// Providers not configured: nothing of theirs is in use.
			slack_bot_token: null,
			oidc_issuer: null,
			oidc_audience: null,
			oidc_tenant_claim: null,
			oidc_role_claim: null,
			oidc_algorithms: null,
			oidc_clock_skew_seconds: null,
			oidc_client_id: null,
			oidc_client_secret: null,
			session_ttl_minutes: 480,
			rate_limit_per_key: 600000,
			rate_limit_per_tenant: 1200000,
			secret_key: null,
			slack_api_url: "https://slack.com/api/",
			slack_client_id: null,
			slack_client_secret: null,
			slack_oauth_url: null,
			slack_signing_secret: null,
			twilio_account_sid: null,
			twilio_auth_token: null,
			twilio_from_number: null,
			twilio_api_url: null,
			vonage_application_id: null,
			vonage_private_key_file: null,
			vonage_api_key: null,
			vonage_api_secret: null,
			vonage_signature_secret: null,
			vonage_sms_signature_method: null,
			vonage_from_number: null,
			vonage_api_url: null,
			vonage_sms_url: null,
			vapid_public_key: null,
			vapid_private_key: null,
			vapid_subject: null,
			webpush_allow_http: false,
		});
	});

	it("reflects environment overrides, and ignores empty variables", { timeout: 60_000 }, async () => {
		const config = await checkConfig({
			OPSWATCH_HOST: "127.0.0.1",
			OPSWATCH_PORT: "9191",
			OPSWATCH_DATA_DIR: "/var/lib/opswatch",
			OPSWATCH_LOG_LEVEL: "debug",
			OPSWATCH_SHUTDOWN_TIMEOUT_MS: "2500",
			OPSWATCH_REDIS_PREFIX: "",
		});
		expect(config).toMatchObject({
			host: "127.0.0.1",
			port: 9191,
			data_dir: "/var/lib/opswatch",
			log_level: "debug",
			shutdown_timeout_ms: 2500,
			redis_prefix: "opswatch:",
			database_url: null,
		});
	});

	const secrets = {
		OPSWATCH_DATABASE_URL: "postgres://ops:s3cretpw@db.example/ops",
		OPSWATCH_REDIS_URL: "redis://:r3dispw@cache.example:6379",
		OPSWATCH_ADMIN_TOKEN: "adm1nT0ken-0123456789abcdefghijklmnopqrs",
		OPSWATCH_SLACK_BOT_TOKEN: "xoxb-sl4ck-secret-token",
		OPSWATCH_TWILIO_ACCOUNT_SID: `AC${"0f".repeat(16)}`,
		OPSWATCH_TWILIO_AUTH_TOKEN: "tw1lio-auth-token-secret",
		OPSWATCH_TWILIO_FROM_NUMBER: "+4930999888777",
	};

	it("never prints a secret, but keeps the host names", { timeout: 60_000 }, async () => {
		expect(secrets.OPSWATCH_ADMIN_TOKEN).toHaveLength(40);
		const result = await runCli(["check-config"], { env: secrets });
		expect(result.code, result.stderr).toBe(0);
		for (const secret of [
			"s3cretpw",
			"r3dispw",
			secrets.OPSWATCH_ADMIN_TOKEN,
			secrets.OPSWATCH_SLACK_BOT_TOKEN,
			secrets.OPSWATCH_TWILIO_AUTH_TOKEN,
			secrets.OPSWATCH_TWILIO_FROM_NUMBER,
		]) {
			expect(result.stdout).not.toContain(secret);
			expect(result.stderr).not.toContain(secret);
		}
		const config = JSON.parse(result.stdout);
		expect(config.admin_token).toBe("<redacted>");
		expect(config.slack_bot_token).toBe("<redacted>");
		expect(config.twilio_account_sid).toBe(secrets.OPSWATCH_TWILIO_ACCOUNT_SID);
		expect(config.database_url).toContain("ops:");
		expect(config.database_url).toContain("@db.example/ops");
		expect(config.redis_url).toContain("@cache.example:6379");
		// A lone Redis user name is a token too.
		const tokenAsUser = await checkConfig({ OPSWATCH_REDIS_URL: "redis://r3distoken@cache.example:6379" });
		expect(tokenAsUser.redis_url).not.toContain("r3distoken");
		expect(tokenAsUser.redis_url).toContain("@cache.example:6379");
	});

	it("shows the redaction marker in URLs as <redacted>, readably", { timeout: 60_000 }, async () => {
		const config = await checkConfig(secrets);
		expect(config.database_url).toBe("postgres://ops:<redacted>@db.example/ops");
		expect(config.redis_url).toBe("redis://:<redacted>@cache.example:6379");
	});

	it("applies a YAML --config file, with environment variables overriding it", { timeout: 60_000 }, async () => {
		const file = writeYaml(
			"opswatch.yaml",
			["port: 9000", "host: 127.0.0.1", "log_level: warn", "data_dir: /srv/opswatch", "redis_prefix: 'ow:'"].join("\n"),
		);
		expect(await checkConfig({}, ["--config", file])).toMatchObject({
			port: 9000,
			host: "127.0.0.1",
			log_level: "warn",
			data_dir: "/srv/opswatch",
			redis_prefix: "ow:",
		});
		expect(await checkConfig({ OPSWATCH_PORT: "9001", OPSWATCH_LOG_LEVEL: "error" }, ["--config", file])).toMatchObject(
			{
				port: 9001,
				host: "127.0.0.1",
				log_level: "error",
				data_dir: "/srv/opswatch",
			},
		);
		// OPSWATCH_CONFIG names the file too.
		expect(await checkConfig({ OPSWATCH_CONFIG: file })).toMatchObject({ port: 9000, host: "127.0.0.1" });
	});
});

describe.concurrent("bad configuration stops start-up with exit code 2, naming the key", () => {
	it("serve refuses OPSWATCH_PORT=abc and exits by itself", { timeout: 60_000 }, async () => {
		const dataDir = emptyDataDir("port");
		try {
			const result = await runCli(["serve"], {
				env: { OPSWATCH_PORT: "abc", OPSWATCH_DATA_DIR: dataDir },
				timeoutMs: 45_000,
			});
			expectConfigError(result, "OPSWATCH_PORT");
			expect(readdirSync(dataDir)).toEqual([]);
		} finally {
			removeDir(dataDir);
		}
	});

	it("serve refuses an unknown variable OPSWATCH_PROT and exits by itself", { timeout: 60_000 }, async () => {
		const dataDir = emptyDataDir("unknown");
		try {
			const result = await runCli(["serve"], {
				env: { OPSWATCH_PROT: "8080", OPSWATCH_PORT: "0", OPSWATCH_DATA_DIR: dataDir },
				timeoutMs: 45_000,
			});
			expectConfigError(result, "OPSWATCH_PROT");
			expect(result.stderr).toMatch(/unknown/i);
			expect(readdirSync(dataDir)).toEqual([]);
		} finally {
			removeDir(dataDir);
		}
	});

	it.each([
		["OPSWATCH_PORT", "70000"],
		["OPSWATCH_PORT", "-1"],
		["OPSWATCH_LOG_LEVEL", "loud"],
		["OPSWATCH_DATABASE_URL", "mysql://x"],
		["OPSWATCH_REDIS_URL", "http://cache.example"],
		["OPSWATCH_ADMIN_TOKEN", "short"],
	])("check-config refuses %s=%s", { timeout: 60_000 }, async (name, value) => {
		expectConfigError(await runCli(["check-config"], { env: { [name]: value } }), name);
	});

	it("names an unknown YAML key and its file", { timeout: 60_000 }, async () => {
		const file = writeYaml("unknown-key.yaml", "port: 8081\nprot: 8080\n");
		expectConfigError(await runCli(["--config", file, "check-config"]), "prot", file);
	});

	it("names a bad YAML value as `key (in file)`", { timeout: 60_000 }, async () => {
		const file = writeYaml("bad-value.yaml", 'port: "x"\n');
		expectConfigError(await runCli(["--config", file, "check-config"]), `port (in ${file})`);
	});

	it("says so when the config file does not exist", { timeout: 60_000 }, async () => {
		const file = join(dir, "no-such-file.yaml");
		const result = await runCli(["--config", file, "check-config"]);
		expectConfigError(result, file);
		expect(result.stderr).toMatch(/cannot read config file/i);
		expect(result.stderr).toMatch(/ENOENT|no such file/i);
	});
});

describe.concurrent("serve --mode", () => {
	it.each(["api", "worker"])(
		"--mode=%s without PostgreSQL and Redis refuses, naming both and saying why",
		{ timeout: 60_000 },
		async (mode) => {
			const dataDir = emptyDataDir(mode);
			try {
				const result = await runCli(["serve", `--mode=${mode}`], {
					env: { OPSWATCH_PORT: "0", OPSWATCH_DATA_DIR: dataDir },
					timeoutMs: 45_000,
				});
				expect(result.code).not.toBe(0);
				expect(result.code).not.toBeNull();
				expect(result.stderr).toContain("OPSWATCH_DATABASE_URL");
				expect(result.stderr).toContain("OPSWATCH_REDIS_URL");
				expect(result.stderr).toContain(`--mode=${mode}`);
				expect(result.stderr).toMatch(/share state through PostgreSQL/);
				expect(result.stderr).toMatch(/events through Redis/);
				expect(result.stderr).toMatch(/--mode=all/);
				expect(result.stderr).not.toMatch(stackTrace);
				expect(readdirSync(dataDir)).toEqual([]);
			} finally {
				removeDir(dataDir);
			}
		},
	);

	it("--mode=api with only OPSWATCH_DATABASE_URL names just the missing Redis", { timeout: 60_000 }, async () => {
		// Port 1 on localhost: nothing listens there, so getting past the check would fail differently.
		const result = await runCli(["serve", "--mode=api"], {
			env: { OPSWATCH_PORT: "0", OPSWATCH_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
			timeoutMs: 45_000,
		});
		expect(result.code).not.toBe(0);
		expect(result.stderr).toContain("OPSWATCH_REDIS_URL");
		expect(result.stderr).not.toContain("OPSWATCH_DATABASE_URL");
	});

	it("--mode=bogus is refused with the allowed choices", { timeout: 60_000 }, async () => {
		const dataDir = emptyDataDir("bogus");
		try {
			const result = await runCli(["serve", "--mode=bogus"], {
				env: { OPSWATCH_PORT: "0", OPSWATCH_DATA_DIR: dataDir },
				timeoutMs: 45_000,
			});
			expect(result.code).not.toBe(0);
			expect(result.code).not.toBeNull();
			expect(result.stderr).toContain("bogus");
			expect(result.stderr).toMatch(/Allowed choices are all, api, worker/);
			expect(readdirSync(dataDir)).toEqual([]);
		} finally {
			removeDir(dataDir);
		}
	});
});
