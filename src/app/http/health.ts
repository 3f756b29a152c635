import type { FastifyPluginAsync } from "fastify";
import type { Metrics } from "../../platform/metrics.ts";
import { withTimeout } from "../../platform/timeout.ts";

export interface ReadinessCheck {
	/** The part named in a failing /readyz answer, e.g. `database`. */
	name: string;
	check(): Promise<void>;
}

export interface HealthRoutesOptions {
	checks: ReadinessCheck[];
	metrics: Metrics;
	timeoutMs?: number;
}

/** Liveness, readiness and Prometheus metrics: unauthenticated, for the orchestrator and scraper. */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (
	app,
	{ checks, metrics, timeoutMs = 2000 },
) => {
	const hidden = { hide: true };

	app.get("/healthz", { config: { auth: "public" }, schema: hidden }, async () => ({ status: "ok" }));

	app.get("/readyz", { config: { auth: "public" }, schema: hidden }, async (request, reply) => {
		const results = await Promise.all(
			checks.map(async ({ name, check }) => {
				try {
					await withTimeout(check(), timeoutMs, name);
					return { name, ok: true as const };
				} catch (error) {
					request.log.warn({ check: name, err: error }, "readiness check failed");
					return { name, ok: false as const, error: (error as Error).message };
				}
			}),
		);
		const failing = results.filter((result) => !result.ok);
		const body = {
			status: failing.length === 0 ? "ready" : "unavailable",
			checks: Object.fromEntries(results.map((r) => [r.name, r.ok ? "ok" : `failing: ${r.error}`])),
			...(failing.length > 0 && { message: `Not ready: ${failing.map((r) => r.name).join(", ")} failing` }),
		};
		return reply.status(failing.length === 0 ? 200 : 503).send(body);
	});

	app.get("/metrics", { config: { auth: "public" }, schema: hidden }, async (_request, reply) => {
		reply.type(metrics.registry.contentType);
		return metrics.registry.metrics();
	});
};
