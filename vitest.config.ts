import { defineConfig } from "vitest/config";

// Each test file gets its own database (PGlite from a pre-migrated dump, or a fresh PostgreSQL
// database when TEST_DATABASE_URL is set) and its own Redis prefix, so files run in parallel.
export default defineConfig({
	test: {
		include: ["src/**/*.test.ts", "test/**/*.test.ts"],
		globalSetup: ["test/harness/global-setup.ts"],
		testTimeout: 30_000,
		hookTimeout: 120_000,
		pool: "forks",
	},
});
