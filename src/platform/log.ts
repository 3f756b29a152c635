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

/**
 * OpsWatch credentials have recognisable prefixes (`ow_`, `owadm_`), so a key that travels in a URL
 * (integration keys) can be masked wherever the URL is logged or echoed.
 */
export const redactCredentials = (text: string): string =>
	text.replace(/\b(ow(?:adm)?_)[A-Za-z0-9_-]{16,}/g, "$1[redacted]");

interface LoggedRequest {
	method: string;
	url: string;
	host?: string;
	ip?: string;
	socket?: { remotePort?: number };
}

/** JSON logs on stdout; every line carries `service` and, inside requests, `request_id`. */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
	return pino(
		{
			level,
			base: { service: "opswatch" },
			timestamp: pino.stdTimeFunctions.isoTime,
			redact: { paths: redactPaths, censor: "[redacted]" },
			formatters: { level: (label) => ({ level: label }) },
			serializers: {
				// Fastify's request serializer, with credentials in the URL masked.
				req: (req: LoggedRequest) => ({
					method: req.method,
					url: redactCredentials(req.url),
					host: req.host,
					remoteAddress: req.ip,
					remotePort: req.socket?.remotePort,
				}),
			},
		},
		destination,
	);
}
