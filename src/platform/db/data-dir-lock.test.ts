import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockDataDir } from "./data-dir-lock.ts";

const dirs: string[] = [];
afterEach(() => {
	for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const dataDir = () => {
	const dir = mkdtempSync(join(tmpdir(), "opswatch-lock-"));
	dirs.push(dir);
	return dir;
};

describe("the embedded database's data directory lock", () => {
	it("keeps a second process out, naming the way around it, until the first releases it", async () => {
		const dir = dataDir();
		const first = await lockDataDir(dir);
		await expect(lockDataDir(dir)).rejects.toMatchObject({
			code: "database.data_dir_in_use",
			message: expect.stringMatching(/in use by another OpsWatch process.*OPSWATCH_DATABASE_URL/),
		});
		await first.release();
		const second = await lockDataDir(dir);
		await second.release();
	});

	it("reports a lock that was taken away, and still releases it without failing the shutdown", async () => {
		const dir = dataDir();
		const errors: Error[] = [];
		const lock = await lockDataDir(dir, (error) => errors.push(error));
		rmSync(join(dir, "opswatch.lock"), { recursive: true, force: true });
		// proper-lockfile notices when it next refreshes the lock (every 5 s).
		await expect.poll(() => errors.length, { timeout: 12_000, interval: 250 }).toBeGreaterThan(0);
		expect(errors[0]!.message).toMatch(/compromised|ENOENT/);
		await expect(lock.release()).resolves.toBeUndefined();
	});
});
