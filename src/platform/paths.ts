import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project's root folder (where package.json and migrations/ live), found by walking up from
 * this module, so the same code works from src/ (tsx) and from the compiled dist/src/.
 */
function findRoot(): string {
	let dir = dirname(fileURLToPath(import.meta.url));
	while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "migrations"))) {
		const parent = dirname(dir);
		if (parent === dir) throw new Error("Cannot find the OpsWatch project root (package.json and migrations/)");
		dir = parent;
	}
	return dir;
}

export const projectRoot = findRoot();
