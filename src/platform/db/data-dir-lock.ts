import { join } from "node:path";
import lockfile from "proper-lockfile";
import { AppError } from "../errors.ts";

export interface DataDirLock {
	release(): Promise<void>;
}

/**
 * Takes the embedded database's data directory for this process. proper-lockfile refreshes the
 * lock while we run and treats it as stale once a crashed holder stops refreshing it.
 */
export async function lockDataDir(dataDir: string, onError?: (error: Error) => void): Promise<DataDirLock> {
	const lockfilePath = join(dataDir, "opswatch.lock");
	let release: () => Promise<void>;
	try {
		release = await lockfile.lock(dataDir, {
			lockfilePath,
			realpath: false,
			stale: 15_000,
			update: 5_000,
			onCompromised: (error) => onError?.(error),
		});
	} catch (error) {
		if ((error as { code?: string }).code === "ELOCKED") {
			throw new AppError(
				"unavailable",
				"database.data_dir_in_use",
				`The embedded database in ${dataDir} is in use by another OpsWatch process. ` +
					"Stop it first, or use its HTTP API; to run several processes, use PostgreSQL (OPSWATCH_DATABASE_URL).",
				{ cause: error },
			);
		}
		throw error;
	}
	let released = false;
	return {
		release: async () => {
			if (released) return;
			released = true;
			// A lock proper-lockfile found compromised (its file gone, or not refreshed in time because
			// the machine slept) is released already; it told onError. Shutting down must not fail on it.
			await release().catch((error: { code?: string }) => {
				if (error.code !== "ERELEASED") throw error;
			});
		},
	};
}
