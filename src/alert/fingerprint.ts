import { hash } from "node:crypto";

/**
 * The fingerprint of an alert whose sender gives none: SHA-256 over its labels sorted by key,
 * as `key=value` lines (a key or value cannot hold a newline-free ambiguity because both are
 * JSON-encoded), truncated to 32 hex characters. Label order and JSON key order don't change it;
 * any change of a label's key or value does.
 */
export function fingerprintOfLabels(labels: Record<string, string>): string {
	const canonical = Object.keys(labels)
		.sort()
		.map((key) => `${JSON.stringify(key)}=${JSON.stringify(labels[key])}`)
		.join("\n");
	return hash("sha256", canonical, "hex").slice(0, 32);
}
