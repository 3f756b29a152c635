import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settings } from "../../src/app/config.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README", () => {
	it("documents every configuration setting in its table", () => {
		for (const [key, setting] of Object.entries(settings)) {
			const fallback = (setting.schema as { parse(v: unknown): unknown }).parse(undefined);
			const shown = fallback === undefined ? "\\([a-z-]+\\)" : `\`${String(fallback)}\``;
			expect(readme, setting.env).toMatch(
				new RegExp(`\\|\\s*\`${setting.env}\`\\s*\\|\\s*\`${key}\`\\s*\\|\\s*${shown}\\s*\\|`),
			);
		}
	});

	it("keeps the two quick-start commands", () => {
		expect(readme).toContain("npm ci && npm start");
		expect(readme).toMatch(/^npm test\b/m);
	});
});
