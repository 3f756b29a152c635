import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { type Config, ConfigError, loadConfig, redactedConfig } from "./app/config.ts";
import { type Container, createContainer, migrateAll } from "./app/container.ts";
import { type Mode, modes, serve } from "./app/serve.ts";
import { isAppError } from "./platform/errors.ts";
import { createLogger } from "./platform/log.ts";
import { projectRoot } from "./platform/paths.ts";
import { roles, tenantSlug } from "./tenant/index.ts";

const { version } = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as {
	version: string;
};

const cliActor = { principal: { type: "system" as const, id: "cli" } };

function config(program: Command): Config {
	return loadConfig({ env: process.env, file: program.opts<{ config?: string }>().config });
}

/** Opens the database, applies migrations, runs `work`, and always closes again. */
async function withContainer<T>(program: Command, work: (container: Container) => Promise<T>): Promise<T> {
	const cfg = config(program);
	const logger = createLogger(cfg.logLevel === "info" ? "warn" : cfg.logLevel);
	const container = await createContainer({ config: cfg, logger });
	try {
		await migrateAll(container);
		return await work(container);
	} finally {
		await container.close();
	}
}

const slugArgument = (value: string): string => {
	const parsed = tenantSlug.safeParse(value);
	if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? "invalid slug");
	return parsed.data;
};

const tenantOption = () => new Option("--tenant <slug>", "tenant slug").argParser(slugArgument).makeOptionMandatory();

export function buildCli(): Command {
	const program = new Command("opswatch")
		.description("OpsWatch: on-call and alert management")
		.version(version)
		.option("--config <file>", "YAML configuration file (environment variables override it)")
		.showHelpAfterError();

	program
		.command("serve", { isDefault: true })
		.description("Run the server (API and worker, or one of them)")
		.addOption(new Option("--mode <mode>", "what this process runs").choices(modes).default("all"))
		.action(async (options: { mode: Mode }) => {
			await serve(config(program), options.mode, version);
		});

	program
		.command("migrate")
		.description("Apply pending migrations to the public schema and every tenant schema")
		.action(async () => {
			await withContainer(program, async () => {});
			console.log("Migrations are up to date.");
		});

	const tenant = program.command("tenant").description("Manage tenants");
	tenant
		.command("create")
		.description("Create a tenant and its schema")
		.argument("<slug>", "tenant slug", slugArgument)
		.option("--name <name>", "display name (default: the slug)")
		.action(async (slug: string, options: { name?: string }) => {
			const created = await withContainer(program, ({ tenants }) =>
				tenants.createTenant({ slug, name: options.name }, cliActor),
			);
			console.log(`Created tenant ${created.slug} (${created.name}) in schema ${created.schema}.`);
		});
	tenant
		.command("list")
		.description("List tenants")
		.action(async () => {
			const list = await withContainer(program, ({ tenants }) => tenants.listTenants());
			for (const t of list) console.log(`${t.slug}\t${t.name}\t${t.createdAt.toISOString()}`);
		});

	const apikey = program.command("apikey").description("Manage API keys");
	apikey
		.command("create")
		.description("Create an API key and print it (it is shown only once)")
		.addOption(tenantOption())
		.addOption(new Option("--role <role>", "role of the key").choices(roles).makeOptionMandatory())
		.option("--description <text>", "what the key is for")
		.option("--agent", "a key for an automated responder: alerts it resolves with notes teach the knowledge base")
		.option("--json", "print JSON")
		.action(
			async (options: {
				tenant: string;
				role: (typeof roles)[number];
				description?: string;
				agent?: boolean;
				json?: boolean;
			}) => {
				const { key, apiKey } = await withContainer(program, ({ tenants }) =>
					tenants.createApiKey(
						{ tenantSlug: options.tenant, role: options.role, description: options.description, agent: options.agent },
						cliActor,
					),
				);
				if (options.json) {
					console.log(JSON.stringify({ key, id: apiKey.id, tenant: options.tenant, role: apiKey.role }));
				} else {
					console.log(`Created ${apiKey.role} key ${apiKey.id} for tenant ${options.tenant}. Store it now:\n${key}`);
				}
			},
		);
	apikey
		.command("list")
		.description("List a tenant's API keys (never the keys themselves)")
		.addOption(tenantOption())
		.action(async (options: { tenant: string }) => {
			const keys = await withContainer(program, ({ tenants }) => tenants.listApiKeys(options.tenant));
			for (const k of keys) {
				console.log(`${k.id}\t${k.prefix}…\t${k.role}\t${k.revokedAt ? "revoked" : "active"}\t${k.description}`);
			}
		});
	apikey
		.command("revoke <id>")
		.description("Revoke an API key")
		.addOption(tenantOption())
		.action(async (id: string, options: { tenant: string }) => {
			await withContainer(program, ({ tenants }) => tenants.revokeApiKey(options.tenant, id, cliActor));
			console.log(`Revoked API key ${id}.`);
		});

	program
		.command("check-config")
		.description("Validate the configuration and print the effective values, secrets redacted")
		.action(() => {
			console.log(JSON.stringify(redactedConfig(config(program)), null, 2));
		});

	return program;
}

try {
	await buildCli().parseAsync(process.argv);
} catch (error) {
	if (error instanceof ConfigError) {
		console.error(`opswatch: ${error.message}`);
		process.exit(2);
	}
	if (isAppError(error)) {
		console.error(`opswatch: ${error.message}`);
		process.exit(1);
	}
	throw error;
}
