import { z } from "zod";

/**
 * Keep and the generic format send one alert or an array. Both reach validation as an array, so
 * an error names the failing field rather than zod's bare "Invalid input" for a failed
 * object-or-array union.
 */
export const asArray = (body: unknown): unknown =>
	body !== null && typeof body === "object" && !Array.isArray(body) ? [body] : body;

/** The schema of such a body once wrapped: at least one alert. */
export const alertArray = <T extends z.ZodType>(item: T, meta: { id: string; description: string }) =>
	z.array(item).min(1, "must hold at least one alert").meta(meta);
