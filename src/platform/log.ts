import { type LevelWithSilent, type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths that may carry credentials. Fastify's request serializer logs no headers, but anything
 * logged with a request or config object must still never print a key, token or password.
 */
const redactPaths = [
	"req.headers.authorization",
	'req.headers["x-api-key"]',
	"req.headers.cookie",
	"headers.authorization",
	'headers["x-api-key"]',
	"*.password",
	"*.token",
	"*.apiKey",
	"*.adminToken",
	"*.databaseUrl",
	"*.redisUrl",
];

/** JSON logs on stdout; every line carries `service` and, inside requests, `request_id`. */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
	return pino(
		{
			level,
			base: { service: "opswatch" },
			timestamp: pino.stdTimeFunctions.isoTime,
			redact: { paths: redactPaths, censor: "[redacted]" },
			formatters: { level: (label) => ({ level: label }) },
		},
		destination,
	);
}
