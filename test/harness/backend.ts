/**
 * Which real components this test run uses. `npm test` runs on PGlite and in-process
 * implementations; `.ci/run` runs the same suites again with TEST_DATABASE_URL (PostgreSQL)
 * and TEST_REDIS_URL (Redis) set.
 */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const testRedisUrl = process.env.TEST_REDIS_URL || undefined;
export const backendName = `${testDatabaseUrl ? "postgres" : "pglite"}+${testRedisUrl ? "redis" : "in-process"}`;
