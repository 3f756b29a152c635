/**
 * Local accounts: a member signs in with their e-mail address and password (for teams without an
 * identity provider, and the embedded default's first admin). Guessing is slowed three ways: scrypt
 * per try, at most 20 tries a minute from one address, and an account locked for 15 minutes after
 * 5 failures in a row (even for the right password, until the lock runs out).
 */
import type { Cache } from "../platform/cache/index.ts";
import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import { writeAudit } from "./audit.ts";
import { findMemberCredentials, findPasswordHash, setPasswordHash } from "./member-store.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { Session, Sessions } from "./sessions.ts";
import * as store from "./store.ts";
import type { Actor, TenantRef } from "./types.ts";

const TRIES_PER_ADDRESS_PER_MINUTE = 20;
const FAILURES_BEFORE_LOCK = 5;
const LOCK_MS = 15 * 60_000;

export interface LocalLoginDeps {
	db: Db;
	clock: Clock;
	cache: Cache;
	sessions: Sessions;
}

const wrong = () => new AppError("unauthenticated", "auth.bad_password", "The e-mail address or the password is wrong");

export function createLocalLogin({ db, clock, cache, sessions }: LocalLoginDeps) {
	async function storeHash(tenant: TenantRef, memberId: string, password: string, actor: Actor, action: string) {
		const hash = await hashPassword(password);
		await db.transaction().execute(async (trx) => {
			if (!(await setPasswordHash(trx, tenant.schema, memberId, hash, clock.now()))) {
				throw new AppError("not_found", "member.not_found", `Member ${memberId} does not exist`);
			}
			// The audit row says that it changed, never what to.
			await writeAudit(trx, tenant.schema, actor, { action, targetType: "member", targetId: memberId });
		});
	}

	return {
		async login(input: { tenant?: string; email: string; password: string; ip: string }): Promise<{
			id: string;
			session: Session;
		}> {
			const tries = await cache.increment(`login-ip:${input.ip}`, 1, 60_000);
			if (tries > TRIES_PER_ADDRESS_PER_MINUTE) {
				throw new AppError(
					"rate_limited",
					"auth.too_many_attempts",
					"Too many sign-in attempts from your address: wait a minute",
					{
						retryAfterSeconds: 60,
					},
				);
			}
			const tenant = await store.findTenantOrOnly(db, input.tenant);
			/** Failed and refused sign-ins are audited in the tenant they aimed at (never the password). */
			const audit = (action: string, memberId?: string) =>
				tenant
					? writeAudit(
							db,
							tenant.schema,
							{ principal: { type: "system", id: "local-login" }, sourceIp: input.ip },
							{ action, targetType: "member", ...(memberId && { targetId: memberId }), after: { email: input.email } },
						)
					: Promise.resolve();
			const lockKey = `login-failures:${tenant?.id ?? "-"}:${input.email.toLowerCase()}`;
			if (Number((await cache.get(lockKey)) ?? 0) >= FAILURES_BEFORE_LOCK) {
				await audit("auth.login_locked");
				throw new AppError(
					"rate_limited",
					"auth.account_locked",
					`This account is locked for 15 minutes after ${FAILURES_BEFORE_LOCK} failed sign-ins`,
					{ retryAfterSeconds: LOCK_MS / 1000 },
				);
			}
			const found = tenant ? await findMemberCredentials(db, tenant.schema, input.email) : undefined;
			// Always one scrypt: an unknown account answers as slowly as a wrong password.
			const ok = await verifyPassword(input.password, found?.passwordHash ?? null);
			if (!ok || !found || !tenant) {
				await cache.increment(lockKey, 1, LOCK_MS);
				await audit("auth.login_failed", found?.member.id);
				throw wrong();
			}
			await cache.delete(lockKey);
			return sessions.create({
				subject: `local:${found.member.id}`,
				email: found.member.email,
				tenant: tenant.slug,
				role: undefined,
			});
		},

		/** An admin sets (or resets) a member's password. */
		setPassword: (tenant: TenantRef, memberId: string, password: string, actor: Actor) =>
			storeHash(tenant, memberId, password, actor, "member.password_set"),

		/** A member changes their own password, proving the current one when they have one. */
		async changeOwnPassword(
			tenant: TenantRef,
			memberId: string,
			current: string | undefined,
			next: string,
			actor: Actor,
		): Promise<void> {
			const stored = await findPasswordHash(db, tenant.schema, memberId);
			if (stored && !(await verifyPassword(current ?? "", stored))) {
				throw new AppError("forbidden", "auth.bad_password", "The current password is wrong", {
					fields: [{ path: "body.currentPassword", message: "is wrong" }],
				});
			}
			await storeHash(tenant, memberId, next, actor, "member.password_change");
		},
	};
}

export type LocalLogin = ReturnType<typeof createLocalLogin>;
