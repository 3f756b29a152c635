import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactedConfig, redactUrl } from "./config.ts";

const yamlFile = (text: string) => {
	const file = join(mkdtempSync(join(tmpdir(), "opswatch-config-")), "opswatch.yaml");
	writeFileSync(file, text);
	return file;
};

const failure = (fn: () => unknown): string => {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(ConfigError);
		return (error as Error).message;
	}
	throw new Error("expected a ConfigError");
};

describe("configuration", () => {
	it("has the documented defaults", () => {
		const config = loadConfig({ env: {} });
		expect(config).toMatchObject({
			host: "0.0.0.0",
			port: 8080,
			dataDir: "./data",
			databaseUrl: undefined,
			redisUrl: undefined,
			logLevel: "info",
			bodyLimitBytes: 1048576,
			maxInFlightBodyBytes: 8388608,
		});
		expect(Object.isFrozen(config)).toBe(true);
	});

	it("reads YAML, and environment variables override it; empty variables count as unset", () => {
		const file = yamlFile("port: 9090\nlog_level: debug\ndata_dir: /var/lib/opswatch\n");
		const config = loadConfig({ env: { OPSWATCH_PORT: "9191", OPSWATCH_DATA_DIR: "" }, file });
		expect(config.port).toBe(9191);
		expect(config.logLevel).toBe("debug");
		expect(config.dataDir).toBe("/var/lib/opswatch");
		expect(loadConfig({ env: { OPSWATCH_CONFIG: file } }).port).toBe(9090);
	});

	it.each([
		["OPSWATCH_PORT", "abc"],
		["OPSWATCH_PORT", "70000"],
		["OPSWATCH_LOG_LEVEL", "loud"],
		["OPSWATCH_DATABASE_URL", "mysql://db/ops"],
		["OPSWATCH_REDIS_URL", "http://cache"],
		["OPSWATCH_ADMIN_TOKEN", "short"],
		["OPSWATCH_BODY_LIMIT_BYTES", "12"],
	])("names the variable of a bad value: %s=%s", (name, value) => {
		const message = failure(() => loadConfig({ env: { [name]: value } }));
		expect(message).toMatch(new RegExp(`^Invalid configuration:\\n  ${name}: `));
	});

	it("never echoes a secret's bad value", () => {
		const message = failure(() => loadConfig({ env: { OPSWATCH_ADMIN_TOKEN: "tooshort-secret" } }));
		expect(message).not.toContain("tooshort-secret");
	});

	it("refuses unknown variables with our prefix, listing the known ones", () => {
		const message = failure(() => loadConfig({ env: { OPSWATCH_PROT: "8080", PATH: "/bin" } }));
		expect(message).toMatch(/Unknown configuration variable: OPSWATCH_PROT\./);
		expect(message).toContain("OPSWATCH_PORT");
	});

	it("names the file and key of a bad or unknown YAML setting", () => {
		const file = yamlFile("port: eighty\nlisten: 1\n");
		const message = failure(() => loadConfig({ env: {}, file }));
		expect(message).toContain(`port (in ${file}):`);
		expect(message).toContain(`listen (in ${file}): unknown setting`);
	});

	it("explains a missing or malformed config file", () => {
		expect(failure(() => loadConfig({ env: {}, file: "/nonexistent/opswatch.yaml" }))).toMatch(
			/Cannot read config file \/nonexistent\/opswatch.yaml/,
		);
		expect(failure(() => loadConfig({ env: {}, file: yamlFile("- a\n- b\n") }))).toMatch(/must be a mapping/);
		expect(failure(() => loadConfig({ env: {}, file: yamlFile("port: [1\n") }))).toMatch(/not valid YAML/);
	});

	it("redacts secrets for display", () => {
		const config = loadConfig({
			env: {
				OPSWATCH_DATABASE_URL: "postgres://ops:s3cret@db.internal:5432/ops",
				OPSWATCH_REDIS_URL: "redis://:r3dis@cache.internal:6379/0",
				OPSWATCH_ADMIN_TOKEN: "a".repeat(40),
			},
		});
		const shown = JSON.stringify(redactedConfig(config));
		expect(shown).not.toMatch(/s3cret|r3dis|aaaaaaaa/);
		expect(shown).toContain("db.internal");
		expect(shown).toContain("cache.internal");
		expect(redactUrl("rediss://token@cache:6380")).not.toContain("token");
	});
});
