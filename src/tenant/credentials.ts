import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Credentials are 256 random bits with a recognisable prefix (so secret scanners and people can
 * tell them apart). Only their SHA-256 is stored: a slow hash adds nothing against random keys
 * and would cost a KDF run on every webhook.
 */
const API_KEY_PREFIX = "ow_";
const ADMIN_TOKEN_PREFIX = "owadm_";

export const generateApiKey = (): string => API_KEY_PREFIX + randomBytes(32).toString("base64url");
export const generateAdminToken = (): string => ADMIN_TOKEN_PREFIX + randomBytes(32).toString("base64url");

export const isApiKeyFormat = (credential: string): boolean =>
	credential.startsWith(API_KEY_PREFIX) && credential.length === API_KEY_PREFIX.length + 43;

export const hashCredential = (credential: string): string => hash("sha256", credential, "hex");

/** The part of a key shown in listings: the prefix plus 8 characters. */
export const displayPrefix = (key: string): string => key.slice(0, API_KEY_PREFIX.length + 8);

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
	const left = hash("sha256", a, "buffer");
	const right = hash("sha256", b, "buffer");
	return timingSafeEqual(left, right);
}
