/**
 * Password hashes with scrypt (node:crypto), self-describing so the cost can rise later:
 * `scrypt$<N>$<r>$<p>$<salt>$<hash>` (salt and hash base64url). N = 2^15, r = 8, p = 1 uses 32 MiB
 * and tens of milliseconds per check: slow for a guesser, fine for a sign-in.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
	const params: ScryptOptions = { ...options, maxmem: 128 * options.N * options.r + 1024 * 1024 };
	return new Promise((resolve, reject) =>
		scrypt(password.normalize("NFC"), salt, KEY_BYTES, params, (error, key) => (error ? reject(error) : resolve(key))),
	);
}

export async function hashPassword(password: string): Promise<string> {
	const salt = randomBytes(16);
	const key = await derive(password, salt, COST);
	return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** True when `password` matches `stored`; a missing hash is checked against a dummy, in the same time. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
	const [scheme, n, r, p, salt, hash] = (stored ?? DUMMY).split("$");
	if (scheme !== "scrypt" || !salt || !hash) return false;
	const expected = Buffer.from(hash, "base64url");
	const key = await derive(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
	return stored !== null && key.length === expected.length && timingSafeEqual(key, expected);
}

/** A readable one-time password: 20 characters of base64url (120 bits). */
export const generatePassword = () => randomBytes(15).toString("base64url");

// A hash of nothing anyone types, so an unknown account costs a guesser as much time as a known one.
const DUMMY = `scrypt$${COST.N}$${COST.r}$${COST.p}$${"A".repeat(22)}$${"A".repeat(43)}`;
