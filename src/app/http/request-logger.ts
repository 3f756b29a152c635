import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Level, Logger } from "pino";

type LogMethod = FastifyBaseLogger["info"];

/**
 * A request's logger, made when it first writes a line at an enabled level. Fastify gives every
 * request a child logger bound to its request id, and pino's `child()` serializes and redacts
 * those bindings at once: about a tenth of everything an alert storm allocated, for a logger that
 * at the usual levels rarely writes. Lines carry the same bindings as pino's child would;
 * `setBindings` (the auth hook adds the tenant and caller) joins them until the child exists.
 */
class LazyRequestLogger {
	#child: Logger | undefined;
	#bindings: Bindings[];

	constructor(
		private readonly parent: Logger,
		bindings: Bindings,
	) {
		this.#bindings = [bindings];
	}

	#real(): Logger {
		this.#child ??= this.parent.child(Object.assign({}, ...this.#bindings));
		return this.#child;
	}

	#write(level: Level, args: Parameters<LogMethod>): void {
		if (this.#child || this.parent.isLevelEnabled(level)) (this.#real()[level] as LogMethod)(...args);
	}

	get level(): string {
		return this.#child?.level ?? this.parent.level;
	}
	set level(level: string) {
		this.#real().level = level;
	}

	fatal(...args: Parameters<LogMethod>): void {
		this.#write("fatal", args);
	}
	error(...args: Parameters<LogMethod>): void {
		this.#write("error", args);
	}
	warn(...args: Parameters<LogMethod>): void {
		this.#write("warn", args);
	}
	info(...args: Parameters<LogMethod>): void {
		this.#write("info", args);
	}
	debug(...args: Parameters<LogMethod>): void {
		this.#write("debug", args);
	}
	trace(...args: Parameters<LogMethod>): void {
		this.#write("trace", args);
	}
	silent(): void {}

	child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
		return this.#real().child(bindings, options) as unknown as FastifyBaseLogger;
	}

	setBindings(bindings: Bindings): void {
		if (this.#child) this.#child.setBindings(bindings);
		else this.#bindings.push(bindings);
	}
}

/** Fastify's `childLoggerFactory`: see {@link LazyRequestLogger}. */
export function lazyRequestLogger(
	this: unknown,
	parent: FastifyBaseLogger,
	bindings: Bindings,
	options: ChildLoggerOptions,
): FastifyBaseLogger {
	// A route with its own level or other options needs the real child from the start.
	if (Object.keys(options).length > 0) return parent.child(bindings, options);
	return new LazyRequestLogger(parent as unknown as Logger, bindings) as unknown as FastifyBaseLogger;
}
