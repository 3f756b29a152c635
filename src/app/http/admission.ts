import type { FastifyInstance } from "fastify";
import { AppError } from "../../platform/errors.ts";

export interface AdmissionOptions {
	/** Most request-body bytes held at once (OPSWATCH_MAX_INFLIGHT_BODY_BYTES). */
	maxInFlightBytes: number;
	/** Charged for a body of unknown length (chunked), as it may grow this large. */
	bodyLimitBytes: number;
}

/**
 * Bounds the memory that requests can pin: each request with a body is charged its length until
 * its response is done, and one that would take the total past the budget gets 503 with
 * Retry-After. Senders (Alertmanager, PagerDuty clients, Keep) retry a 503, so a storm is slowed
 * rather than lost, and the heap stays within the bound the process runs with (ADR 0003) instead of
 * crashing the one service that must page someone. A request is always admitted when none is in
 * flight, so no body within the body limit is refused forever.
 */
export function registerAdmission(app: FastifyInstance, { maxInFlightBytes, bodyLimitBytes }: AdmissionOptions): void {
	let inFlight = 0;
	app.addHook("onRequest", (request, reply, done) => {
		const declared = request.headers["content-length"];
		const length =
			declared !== undefined ? Number(declared) : request.headers["transfer-encoding"] ? bodyLimitBytes : 0;
		if (!(length > 0)) return done();
		const cost = Math.min(length, bodyLimitBytes);
		if (inFlight > 0 && inFlight + cost > maxInFlightBytes) {
			return done(
				new AppError("unavailable", "server.busy", "OpsWatch is at capacity; retry shortly", {
					retryAfterSeconds: 1,
				}),
			);
		}
		inFlight += cost;
		// 'close' fires once the response is sent or the client went away, whichever comes first, and
		// only once: `on`, not `once`, which would wrap the listener for every request.
		reply.raw.on("close", () => {
			inFlight -= cost;
		});
		done();
	});
}
