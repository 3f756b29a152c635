import { hash, randomBytes } from "node:crypto";
import type { Cache } from "../platform/cache/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
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

/** Where sessions are kept: the shared cache (Redis), or the database when there is no Redis. */
export interface SessionStore {
	put(idHash: string, data: string, ttlMs: number): Promise<void>;
	get(idHash: string): Promise<string | undefined>;
	delete(idHash: string): Promise<void>;
}

export function cacheSessionStore(cache: Cache): SessionStore {
	const key = (idHash: string) => `session:${idHash}`;
	return {
		put: (idHash, data, ttlMs) => cache.set(key(idHash), data, ttlMs),
		get: (idHash) => cache.get(key(idHash)),
		delete: (idHash) => cache.delete(key(idHash)),
	};
}

export function databaseSessionStore(db: Db, clock: Clock): SessionStore {
	const sessions = () => db.withSchema("public").withTables<SessionTables>();
	return {
		async put(idHash, data, ttlMs) {
			const now = clock.now();
			await sessions()
				.insertInto("sessions")
				.values({ id_hash: idHash, data, expires_at: new Date(now.getTime() + ttlMs) })
				.execute();
			// Sign-ins are rare: each one sweeps out the sessions that ran out.
			await sessions().deleteFrom("sessions").where("expires_at", "<", now).execute();
		},
		async get(idHash) {
			const row = await sessions()
				.selectFrom("sessions")
				.select("data")
				.where("id_hash", "=", idHash)
				.where("expires_at", ">", clock.now())
				.executeTakeFirst();
			return row && (typeof row.data === "string" ? row.data : JSON.stringify(row.data));
		},
		async delete(idHash) {
			await sessions().deleteFrom("sessions").where("id_hash", "=", idHash).execute();
		},
	};
}

type SessionTables = { sessions: { id_hash: string; data: string; expires_at: Date } };

/**
 * Server-side sessions: the browser holds only a random id; the store keys sessions by its SHA-256,
 * and signing out deletes the session for good.
 */
export function createSessions(store: SessionStore, ttlMs: number) {
	const hashOf = (id: string) => hash("sha256", id, "base64url");
	return {
		ttlMs,
		async create(identity: OidcIdentity): Promise<{ id: string; session: Session }> {
			const session: Session = { identity, csrfToken: randomBytes(24).toString("base64url") };
			const id = randomBytes(32).toString("base64url");
			await store.put(hashOf(id), JSON.stringify(session), ttlMs);
			return { id, session };
		},
		async get(id: string): Promise<Session | undefined> {
			if (!/^[\w-]{43}$/.test(id)) return undefined;
			const stored = await store.get(hashOf(id));
			return stored ? (JSON.parse(stored) as Session) : undefined;
		},
		async destroy(id: string): Promise<void> {
			await store.delete(hashOf(id));
		},
	};
}

export type Sessions = ReturnType<typeof createSessions>;
