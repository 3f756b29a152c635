import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, type ErrorKind, type FieldError, isDatabaseUnavailable } from "../../platform/errors.ts";
import { redactCredentials } from "../../platform/log.ts";

declare module "fastify" {
	interface FastifyContextConfig {
		/**
		 * Renames a failed body field's path (its segments under `body`) as the sender wrote the body,
		 * for a route that reshapes the body before validating it.
		 */
		bodyPathAsSent?: (request: FastifyRequest, segments: string[]) => string[];
	}
}

export const errorBodySchema = z
	.object({
		error: z.object({
			code: z.string().meta({ description: "Stable machine-readable code, e.g. tenant.slug_taken" }),
			message: z.string(),
			fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
			requestId: z.string(),
		}),
	})
	.meta({ id: "Error" });

/** The one error body every failing response carries. */
export interface ErrorBody {
	error: { code: string; message: string; fields?: FieldError[]; requestId: string };
}

const statusByKind: Record<ErrorKind, number> = {
	validation: 400,
	unauthenticated: 401,
	forbidden: 403,
	not_found: 404,
	conflict: 409,
	unprocessable: 422,
	rate_limited: 429,
	unavailable: 503,
};

/** Fastify's own request errors, renamed to our codes with messages a sender can act on. */
function fromFastifyError(error: FastifyError, bodyLimit: number): AppError | undefined {
	switch (error.code) {
		case "FST_ERR_CTP_BODY_TOO_LARGE":
			return new AppError(
				"validation",
				"request.body_too_large",
				`The request body exceeds the limit of ${bodyLimit} bytes`,
			);
		case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
			return new AppError(
				"validation",
				"request.unsupported_media_type",
				"Unsupported Content-Type: send application/json",
			);
		case "FST_ERR_CTP_EMPTY_JSON_BODY":
			return new AppError("validation", "request.empty_body", "The body is empty but Content-Type is application/json");
		case "FST_ERR_CTP_INVALID_JSON_BODY":
			return new AppError("validation", "request.malformed_json", `The body is not valid JSON: ${error.message}`);
		case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
			return new AppError("validation", "request.bad_content_length", "Content-Length does not match the body");
	}
	if (error instanceof SyntaxError || (error.statusCode === 400 && error.message.includes("JSON"))) {
		return new AppError("validation", "request.malformed_json", `The body is not valid JSON: ${error.message}`);
	}
	return undefined;
}

/** Status codes for the Fastify errors above whose status is not the kind's default. */
const statusByCode: Record<string, number> = {
	"request.body_too_large": 413,
	"request.unsupported_media_type": 415,
};

/** Documents the error answers every documented route can give, so the OpenAPI document lists them. */
function documentErrorResponses(app: FastifyInstance): void {
	app.addHook("onRoute", (route) => {
		if (!route.schema || route.schema.hide || route.config?.auth === "public") return;
		const response = (route.schema.response ?? {}) as Record<number, unknown>;
		const statuses = [400, 401, 403, 404, 409, 413, 415, 429];
		for (const status of statuses) response[status] ??= errorBodySchema.describe(`Error (${status})`);
		route.schema.response = response;
	});
}

export function registerErrorHandling(app: FastifyInstance, bodyLimit: number): void {
	documentErrorResponses(app);
	app.setErrorHandler((rawError: FastifyError, request, reply) => {
		let error: AppError | undefined;
		if (rawError instanceof AppError) {
			error = rawError;
		} else if (hasZodFastifySchemaValidationErrors(rawError)) {
			const where = rawError.validationContext ?? "body";
			const asSent = where === "body" ? request.routeOptions.config.bodyPathAsSent : undefined;
			const fields = rawError.validation.map((issue) => {
				const segments = issue.instancePath.split("/").filter(Boolean);
				return {
					path: [where, ...(asSent ? asSent(request, segments) : segments)].join("."),
					message: issue.message ?? "is invalid",
				};
			});
			const summary = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
			error = new AppError("validation", "request.invalid", `Invalid request: ${summary}`, { fields });
		} else if (isDatabaseUnavailable(rawError)) {
			request.log.error({ err: rawError }, "database unavailable");
			error = new AppError("unavailable", "service.unavailable", "The database is unavailable; retry shortly", {
				retryAfterSeconds: 5,
			});
		} else if (!isResponseSerializationError(rawError)) {
			error = fromFastifyError(rawError, bodyLimit);
		}

		if (!error) {
			request.log.error({ err: rawError }, "unhandled error");
			return reply.status(500).send({
				error: { code: "internal", message: "Internal server error", requestId: request.id },
			} satisfies ErrorBody);
		}

		const status = statusByCode[error.code] ?? statusByKind[error.kind];
		if (status >= 500) request.log.warn({ err: error, code: error.code }, error.message);
		else request.log.info({ code: error.code, status }, error.message);
		if (error.retryAfterSeconds !== undefined) reply.header("retry-after", String(error.retryAfterSeconds));
		if (status === 401) reply.header("www-authenticate", 'Bearer realm="opswatch"');
		const body: ErrorBody = { error: { code: error.code, message: error.message, requestId: request.id } };
		if (error.fields) body.error.fields = error.fields;
		return reply.status(status).send(body);
	});

	app.setNotFoundHandler((request, reply) => {
		const body: ErrorBody = {
			error: {
				code: "route.not_found",
				message: `No route ${request.method} ${redactCredentials(request.url.split("?")[0] ?? "")}`,
				requestId: request.id,
			},
		};
		return reply.status(404).send(body);
	});
}
