import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Drives the real `opswatch` program as a child process (`node bin/opswatch.js …`), the way a
 * user runs it, with a minimal explicit environment: PATH, HOME and the OPSWATCH_* variables a
 * test passes, never TEST_* or stray OPSWATCH_* variables from the test runner.
 */

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export type CliEnv = Record<string, string | undefined>;

/** PATH and HOME from the runner plus exactly `vars` (undefined values are left out). */
export function cliEnv(vars: CliEnv = {}): Record<string, string> {
	const env: Record<string, string> = {
		PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
		HOME: process.env.HOME ?? tmpdir(),
	};
	for (const [name, value] of Object.entries(vars)) if (value !== undefined) env[name] = value;
	return env;
}

const children = new Set<ChildProcess>();

function spawnTracked(command: string, args: string[], env: CliEnv): ChildProcess {
	const child = spawn(command, args, { cwd: repoRoot, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
	children.add(child);
	child.on("close", () => children.delete(child));
	return child;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
	if (child.exitCode !== null || child.signalCode !== null) {
		// Already gone; "close" may still be pending for the pipes, which is fine for callers here.
		return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
	}
	return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
}

/** SIGKILLs every child this module started that is still running, and waits for them. */
export async function killAllChildren(): Promise<void> {
	await Promise.all(
		[...children].map(async (child) => {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
			await exitOf(child);
		}),
	);
}

export interface CliResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	durationMs: number;
}

export interface RunOptions {
	env?: CliEnv;
	/** The child is killed and the promise rejects when it has not exited by then. */
	timeoutMs?: number;
	/** Defaults to `node bin/opswatch.js`. */
	command?: [string, ...string[]];
}

/** Runs `opswatch <args>` to completion. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
	const [command, ...prefix] = options.command ?? ["node", "bin/opswatch.js"];
	const started = Date.now();
	const child = spawnTracked(command, [...prefix, ...args], options.env ?? {});
	let stdout = "";
	let stderr = "";
	child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
		stdout += chunk;
	});
	child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
		stderr += chunk;
	});
	const timeoutMs = options.timeoutMs ?? 30_000;
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(
				new Error(
					`opswatch ${args.join(" ")} did not exit within ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
				),
			);
		}, timeoutMs);
		child.on("error", (error) => {
			clearTimeout(timer);
			reject(error);
		});
		child.on("close", (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
		});
	});
}

/** Every line of `text` that parses as a JSON object (log lines); others (the banner) are skipped. */
export function jsonLines(text: string): Record<string, unknown>[] {
	const lines: Record<string, unknown>[] = [];
	for (const line of text.split("\n")) {
		const trimmed = line.trim();
		if (!trimmed.startsWith("{")) continue;
		try {
			const parsed: unknown = JSON.parse(trimmed);
			if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) lines.push(parsed as Record<string, unknown>);
		} catch {}
	}
	return lines;
}

export interface ReadyInfo {
	port: number;
	url: string;
	/** The "OpsWatch … ready" log line. */
	line: Record<string, unknown>;
	/** When the test saw that line (Date.now()). */
	at: number;
}

/** A running `opswatch serve`. */
export class ServerProcess {
	readonly child: ChildProcess;
	readonly args: string[];
	stdout = "";
	stderr = "";
	exitedAt: number | undefined;
	private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	private readonly listeners = new Set<() => void>();

	constructor(args: string[], env: CliEnv) {
		this.args = args;
		this.child = spawnTracked("node", ["bin/opswatch.js", ...args], env);
		this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
			this.stdout += chunk;
			this.notify();
		});
		this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
			this.stderr += chunk;
			this.notify();
		});
		this.exited = new Promise((resolve) =>
			this.child.once("close", (code, signal) => {
				this.exitedAt = Date.now();
				this.notify();
				resolve({ code, signal });
			}),
		);
	}

	private notify(): void {
		for (const listener of this.listeners) listener();
	}

	get running(): boolean {
		return this.exitedAt === undefined;
	}

	/** JSON log lines from stdout and stderr. */
	logs(): Record<string, unknown>[] {
		return [...jsonLines(this.stdout), ...jsonLines(this.stderr)];
	}

	describe(): string {
		return `opswatch ${this.args.join(" ")}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
	}

	/** Resolves with `check()`'s first non-undefined result; rejects on timeout or when the process exits first. */
	waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
		return new Promise((resolve, reject) => {
			const finish = (error: Error | undefined, value?: T) => {
				clearTimeout(timer);
				this.listeners.delete(listener);
				if (error) reject(error);
				else resolve(value as T);
			};
			const listener = () => {
				let value: T | undefined;
				try {
					value = check();
				} catch (error) {
					finish(error as Error);
					return;
				}
				if (value !== undefined) finish(undefined, value);
				else if (!this.running) finish(new Error(`process exited before ${what}\n${this.describe()}`));
			};
			const timer = setTimeout(
				() => finish(new Error(`no ${what} within ${timeoutMs} ms\n${this.describe()}`)),
				timeoutMs,
			);
			this.listeners.add(listener);
			listener();
		});
	}

	/** Waits for the "OpsWatch … ready" log line and returns the port it names. */
	waitForReady(timeoutMs = 60_000): Promise<ReadyInfo> {
		return this.waitFor(
			() => {
				const line = jsonLines(this.stdout).find(
					(l) => typeof l.msg === "string" && l.msg.startsWith("OpsWatch") && typeof l.port === "number",
				);
				if (!line) return undefined;
				const port = line.port as number;
				return { port, url: `http://127.0.0.1:${port}`, line, at: Date.now() };
			},
			"ready log line",
			timeoutMs,
		);
	}

	/** Waits for a JSON log line whose msg matches. */
	waitForLog(msg: RegExp, timeoutMs = 30_000): Promise<Record<string, unknown>> {
		return this.waitFor(
			() => this.logs().find((l) => typeof l.msg === "string" && msg.test(l.msg)),
			`log line ${msg}`,
			timeoutMs,
		);
	}

	signal(signal: NodeJS.Signals): void {
		this.child.kill(signal);
	}

	/** Resolves when the process has exited; rejects (after SIGKILL) when it has not within timeoutMs. */
	async waitForExit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => {
				this.child.kill("SIGKILL");
				reject(new Error(`did not exit within ${timeoutMs} ms\n${this.describe()}`));
			}, timeoutMs);
		});
		try {
			return await Promise.race([this.exited, timeout]);
		} finally {
			clearTimeout(timer);
		}
	}

	/** SIGTERM, then the exit status and how long it took. */
	async stop(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; durationMs: number }> {
		const started = Date.now();
		if (this.running) this.signal("SIGTERM");
		const result = await this.waitForExit(timeoutMs);
		return { ...result, durationMs: (this.exitedAt ?? Date.now()) - started };
	}

	/** SIGKILL if still running (cleanup after failures). */
	async kill(): Promise<void> {
		if (this.running) this.child.kill("SIGKILL");
		await this.exited;
	}
}

/** Starts `opswatch <args>` (typically `serve …`). */
export function startCli(args: string[], env: CliEnv): ServerProcess {
	return new ServerProcess(args, env);
}

export interface HttpResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	text: string;
	// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the tests
	body: any;
}

export interface HttpRequestOptions {
	method?: string;
	/** Sent as X-API-Key. */
	key?: string;
	/** Sent as Authorization: Bearer. */
	bearer?: string;
	json?: unknown;
	/** Sent as the Cookie header. */
	cookie?: string;
	timeoutMs?: number;
}

/** One request on a new connection (no keep-alive pool, so a shutting-down server sees no idle sockets of ours). */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
	const headers: Record<string, string> = {};
	if (options.key) headers["x-api-key"] = options.key;
	if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
	if (options.cookie) headers.cookie = options.cookie;
	const body = options.json === undefined ? undefined : JSON.stringify(options.json);
	if (body !== undefined) {
		headers["content-type"] = "application/json";
		headers["content-length"] = String(Buffer.byteLength(body));
	}
	return new Promise((resolve, reject) => {
		const request = http.request(url, { method: options.method ?? "GET", headers, agent: false }, (response) => {
			readResponse(response).then(resolve, reject);
		});
		request.setTimeout(options.timeoutMs ?? 10_000, () => request.destroy(new Error(`no answer from ${url}`)));
		request.on("error", reject);
		request.end(body);
	});
}

export async function readResponse(response: http.IncomingMessage): Promise<HttpResponse> {
	let text = "";
	response.setEncoding("utf8");
	for await (const chunk of response) text += chunk;
	let body: unknown = text;
	try {
		body = text ? JSON.parse(text) : undefined;
	} catch {}
	return { status: response.statusCode ?? 0, headers: response.headers, text, body };
}

/** A new temporary directory; remove it with `removeDir`. */
export function makeTempDir(prefix = "opswatch-cli-"): string {
	return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
	if (dir) rmSync(dir, { recursive: true, force: true });
}
