/**
 * One error type for everything a caller can get wrong or that can legitimately fail.
 * Domains throw `AppError`; only the HTTP layer turns kinds into status codes.
 */
export type ErrorKind =
	| "validation"
	| "unprocessable"
	| "not_found"
	| "conflict"
	| "forbidden"
	| "unauthenticated"
	| "rate_limited"
	| "unavailable";

/** A field-level problem, keyed by the dotted path of the offending input. */
export interface FieldError {
	path: string;
	message: string;
}

export class AppError extends Error {
	readonly kind: ErrorKind;
	/** Stable, machine-readable code such as `tenant.slug_taken`. */
	readonly code: string;
	readonly fields: FieldError[] | undefined;
	/** Seconds until a rate-limited caller may retry. */
	readonly retryAfterSeconds: number | undefined;

	constructor(
		kind: ErrorKind,
		code: string,
		message: string,
		options: { fields?: FieldError[]; cause?: unknown; retryAfterSeconds?: number } = {},
	) {
		super(message, { cause: options.cause });
		this.name = "AppError";
		this.kind = kind;
		this.code = code;
		this.fields = options.fields;
		this.retryAfterSeconds = options.retryAfterSeconds;
	}
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

interface PgErrorLike {
	code?: string;
	constraint?: string;
	detail?: string;
}

/** Conflict errors for named unique constraints; anything else passes through unchanged. */
export interface ConstraintMapping {
	[constraint: string]: { code: string; message: string; field?: string };
}

/**
 * Turns a PostgreSQL error raised by a constraint into an AppError, so that unique indexes
 * make races safe: two concurrent creates of the same thing yield one row and one 409.
 * See https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function mapPgError(error: unknown, constraints: ConstraintMapping): unknown {
	const pgError = error as PgErrorLike;
	if (pgError?.code === "23505" && pgError.constraint) {
		const mapped = constraints[pgError.constraint];
		if (mapped) {
			return new AppError("conflict", mapped.code, mapped.message, {
				fields: mapped.field ? [{ path: mapped.field, message: mapped.message }] : undefined,
				cause: error,
			});
		}
	}
	return error;
}

/** SQLSTATE class 40 (serialization failure, deadlock): the transaction may simply be retried. */
export const isRetryableTransactionError = (error: unknown): boolean =>
	typeof (error as PgErrorLike)?.code === "string" && (error as PgErrorLike).code!.startsWith("40");

/** Connection-level failures (SQLSTATE classes 08, 53, 57 and socket errors): the database, not the request, is at fault. */
const unavailableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND"]);
const unavailableMessages = [
	/timeout exceeded when trying to connect/i,
	/Connection terminated/i,
	/after calling end on the pool/i,
	/driver has already been destroyed/,
];

/**
 * True when a database error means "try again later" rather than "your request is wrong". Senders
 * such as Alertmanager retry a 503 with backoff but drop the group on any 4xx.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
	const code = (error as PgErrorLike)?.code;
	if (typeof code === "string" && (unavailableCodes.has(code) || /^(08|53|57)/.test(code))) return true;
	const message = (error as Error)?.message ?? "";
	return unavailableMessages.some((pattern) => pattern.test(message));
}
