import { randomBytes } from "node:crypto";
import type { Cache } from "../platform/cache/index.ts";
import type { OidcIdentity } from "./oidc.ts";

/** The session's id: httpOnly, so page scripts never see it. */
export const SESSION_COOKIE = "opswatch_session";
/** The session's CSRF token, readable by the web app, which sends it back as X-CSRF-Token. */
export const CSRF_COOKIE = "opswatch_csrf";

/** A signed-in browser: who (as the identity provider or a local password vouched), and its CSRF token. */
export interface Session {
	identity: OidcIdentity;
	/** Sent back in X-CSRF-Token on every change made with the session cookie. */
	csrfToken: string;
}

/**
 * Server-side sessions in the shared cache (Redis, or this process's memory in the embedded
 * default): the browser holds only a random id, and signing out deletes the session for good.
 */
export function createSessions(cache: Cache, ttlMs: number) {
	const key = (id: string) => `session:${id}`;
	return {
		ttlMs,
		async create(identity: OidcIdentity): Promise<{ id: string; session: Session }> {
			const session: Session = { identity, csrfToken: randomBytes(24).toString("base64url") };
			const id = randomBytes(32).toString("base64url");
			await cache.set(key(id), JSON.stringify(session), ttlMs);
			return { id, session };
		},
		async get(id: string): Promise<Session | undefined> {
			if (!/^[\w-]{43}$/.test(id)) return undefined;
			const stored = await cache.get(key(id));
			return stored ? (JSON.parse(stored) as Session) : undefined;
		},
		async destroy(id: string): Promise<void> {
			await cache.delete(key(id));
		},
	};
}

export type Sessions = ReturnType<typeof createSessions>;
