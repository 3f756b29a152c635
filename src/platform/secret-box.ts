/**
 * Encryption of secrets at rest (Slack bot tokens, signing secrets): AES-256-GCM from node:crypto
 * with the deployment's secret key. A sealed value names its scheme (`v1.`), so the format can
 * change later; the row it belongs to is bound in as additional data, so a ciphertext copied into
 * another tenant's row does not open.
 *
 *     const box = createSecretBox(key);
 *     const sealed = box.seal("xoxb-…", "tenant:3f…");   // "v1.<iv>.<tag>.<ciphertext>", base64url
 *     box.open(sealed, "tenant:3f…");                     // "xoxb-…"
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface SecretBox {
	seal(plaintext: string, context: string): string;
	/** Throws when the value was sealed with another key or for another context. */
	open(sealed: string, context: string): string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;

/** The key, or a function that yields it when first needed (a key file made on first use). */
export function createSecretBox(keyOrProvider: Buffer | (() => Buffer)): SecretBox {
	let known = typeof keyOrProvider === "function" ? undefined : keyOrProvider;
	const keyOf = () => {
		known ??= (keyOrProvider as () => Buffer)();
		if (known.length !== KEY_BYTES) throw new Error(`The secret key must be ${KEY_BYTES} bytes`);
		return known;
	};
	return {
		seal(plaintext, context) {
			const key = keyOf();
			const iv = randomBytes(IV_BYTES);
			const cipher = createCipheriv("aes-256-gcm", key, iv);
			cipher.setAAD(Buffer.from(context));
			const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
			return ["v1", iv, cipher.getAuthTag(), ciphertext]
				.map((p) => (typeof p === "string" ? p : p.toString("base64url")))
				.join(".");
		},
		open(sealed, context) {
			const [version, iv, tag, ciphertext] = sealed.split(".");
			if (version !== "v1" || !iv || !tag || ciphertext === undefined) throw new Error("Not a sealed secret");
			const key = keyOf();
			const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
			decipher.setAAD(Buffer.from(context));
			decipher.setAuthTag(Buffer.from(tag, "base64url"));
			try {
				return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString(
					"utf8",
				);
			} catch {
				throw new Error(
					"A stored secret does not open with this deployment's secret key (was OPSWATCH_SECRET_KEY changed?)",
				);
			}
		},
	};
}

/** Parses a configured key: 64 hex characters or 32 bytes in base64. */
export function parseSecretKey(text: string): Buffer | undefined {
	const trimmed = text.trim();
	if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
	const decoded = Buffer.from(trimmed, "base64");
	return decoded.length === KEY_BYTES ? decoded : undefined;
}

/**
 * The key of a deployment that configured none: `<dataDir>/secret.key`, made on first use (mode
 * 0600). Every process that shares the database must share the key, so multi-process deployments
 * set OPSWATCH_SECRET_KEY instead.
 */
export function loadOrCreateKeyFile(dataDir: string): Buffer {
	const file = path.join(dataDir, "secret.key");
	try {
		const key = parseSecretKey(fs.readFileSync(file, "utf8"));
		if (!key) throw new Error(`${file} does not hold a 32-byte key (64 hex characters)`);
		return key;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
	}
	fs.mkdirSync(dataDir, { recursive: true });
	const key = randomBytes(KEY_BYTES);
	try {
		fs.writeFileSync(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
		return key;
	} catch (error) {
		// Another process made it first: use theirs.
		if ((error as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateKeyFile(dataDir);
		throw error;
	}
}
