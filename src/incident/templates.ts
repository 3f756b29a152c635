import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { projectRoot } from "../platform/paths.ts";
import type { RunbookTemplate } from "./types.ts";

const frontMatter = z.object({ title: z.string().min(1), description: z.string().min(1), tags: z.array(z.string()) });

/** `---\nYAML\n---\nMarkdown`: the template files' shape (src/incident/templates/<id>.md). */
function parseTemplate(id: string, text: string): RunbookTemplate {
	const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
	if (!match) throw new Error(`runbook template ${id}: no front matter`);
	const meta = frontMatter.parse(parse(match[1]!));
	return { id, ...meta, body: match[2]!.trimStart() };
}

let loaded: RunbookTemplate[] | undefined;

/** The pre-seeded runbook templates, read once from the files that ship with OpsWatch. */
export function runbookTemplates(): RunbookTemplate[] {
	if (!loaded) {
		const dir = join(projectRoot, "src/incident/templates");
		loaded = readdirSync(dir)
			.filter((name) => name.endsWith(".md"))
			.sort()
			.map((name) => parseTemplate(name.slice(0, -3), readFileSync(join(dir, name), "utf8")));
	}
	return loaded;
}
