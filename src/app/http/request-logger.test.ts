import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../platform/log.ts";
import { lazyRequestLogger } from "./request-logger.ts";

function capture(level: "info" | "warn") {
	const lines: Record<string, unknown>[] = [];
	const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
	return { lines, logger: logger as unknown as FastifyBaseLogger };
}

describe("lazyRequestLogger", () => {
	it("writes each line with the request's bindings, as pino's child would", () => {
		const { lines, logger } = capture("info");
		const log = lazyRequestLogger(logger, { request_id: "r-1" }, {});
		log.info({ path: "/x" }, "hello");
		log.error("broken");
		log.debug("below the level");
		expect(lines.map((l) => [l.level, l.msg, l.request_id])).toEqual([
			["info", "hello", "r-1"],
			["error", "broken", "r-1"],
		]);
		expect(lines[0]?.path).toBe("/x");
	});

	it("adds bindings set before and after its first line", () => {
		const { lines, logger } = capture("info");
		const log = lazyRequestLogger(logger, { request_id: "r-4" }, {}) as FastifyBaseLogger & {
			setBindings(bindings: Record<string, string>): void;
		};
		log.setBindings({ tenant: "acme" });
		log.info("first");
		log.setBindings({ user_id: "api_key:k1" });
		log.info("second");
		expect(lines.map((l) => [l.msg, l.request_id, l.tenant, l.user_id])).toEqual([
			["first", "r-4", "acme", undefined],
			["second", "r-4", "acme", "api_key:k1"],
		]);
	});

	it("redacts credentials in what it writes", () => {
		const { lines, logger } = capture("info");
		lazyRequestLogger(logger, { request_id: "r-2" }, {}).warn({ config: { password: "hunter2" } }, "config");
		expect(JSON.stringify(lines)).not.toContain("hunter2");
	});

	it("makes no child logger for a request that writes nothing at the level", () => {
		const { logger } = capture("warn");
		let children = 0;
		const counting = Object.assign(Object.create(logger), {
			child: (...args: Parameters<FastifyBaseLogger["child"]>) => {
				children++;
				return logger.child(...args);
			},
		}) as FastifyBaseLogger;
		const log = lazyRequestLogger(counting, { request_id: "r-3" }, {});
		log.info("incoming request");
		log.debug("details");
		expect(children).toBe(0);
		log.warn("slow");
		log.warn("slower");
		expect(children).toBe(1);
	});

	it("gives Fastify's requests their id in every line", async () => {
		const { lines, logger } = capture("info");
		const app = Fastify({
			loggerInstance: logger,
			childLoggerFactory: lazyRequestLogger,
			logController: new LogController({ requestIdLogLabel: "request_id" }),
		});
		app.get("/hello", async (request) => {
			request.log.info("handling");
			return { ok: true };
		});
		const response = await app.inject({ method: "GET", url: "/hello" });
		await app.close();
		expect(response.statusCode).toBe(200);
		const ids = new Set(lines.filter((l) => l.request_id).map((l) => l.request_id));
		expect(lines.map((l) => l.msg)).toEqual(["incoming request", "handling", "request completed"]);
		expect(ids.size).toBe(1);
	});
});
