import { type RawBuilder, sql } from "kysely";

/**
 * Typed parameters for the shapes node-postgres does not infer: a value stored as jsonb, and JS
 * arrays as PostgreSQL arrays. One place, so every store writes them the same way.
 */
export const jsonb = (value: unknown): RawBuilder<unknown> => sql`${JSON.stringify(value)}::jsonb`;
export const textArray = (values: string[]): RawBuilder<string[]> => sql<string[]>`${values}::text[]`;
export const uuidArray = (values: string[]): RawBuilder<string[]> => sql<string[]>`${values}::uuid[]`;
