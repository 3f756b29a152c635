import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Level, Logger } from "pino";

const levels: Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];

/**
 * Fastify's `childLoggerFactory`: a request's logger, made when it first writes a line. Fastify
 * gives every request a child logger bound to its request id, and pino's `child()` serializes and
 * redacts those bindings at once: about a tenth of everything an alert storm allocated, for a
 * logger that at the usual levels rarely writes. The bindings, and so every line, are the same;
 * `setBindings` (the auth hook adds the tenant and caller) merges into them until the child exists.
 */
export function lazyRequestLogger(
	this: unknown,
	parent: FastifyBaseLogger,
	bindings: Bindings,
	options: ChildLoggerOptions,
): FastifyBaseLogger {
	// A route with its own level or other options needs the real child from the start.
	if (Object.keys(options).length > 0) return parent.child(bindings, options);
	const logger = parent as unknown as Logger;
	let child: Logger | undefined;
	let pending = bindings;
	const real = () => {
		child ??= logger.child(pending, options);
		return child;
	};
	const lazy = {
		// The level methods are added below.
		get level() {
			return child?.level ?? parent.level;
		},
		set level(level: string) {
			real().level = level;
		},
		silent: () => {},
		child: (more: Bindings, moreOptions?: ChildLoggerOptions) => real().child(more, moreOptions),
		setBindings(more: Bindings) {
			if (child) child.setBindings(more);
			else pending = { ...pending, ...more };
		},
	} as Partial<FastifyBaseLogger> as FastifyBaseLogger & Pick<Logger, "setBindings">;
	for (const level of levels) {
		lazy[level] = ((...args: Parameters<FastifyBaseLogger["info"]>) => {
			if (child) return (child[level] as FastifyBaseLogger["info"])(...args);
			if (logger.isLevelEnabled(level)) (real()[level] as FastifyBaseLogger["info"])(...args);
		}) as FastifyBaseLogger["info"];
	}
	return lazy;
}
