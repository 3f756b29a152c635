import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSecretBox, loadOrCreateKeyFile, parseSecretKey } from "./secret-box.ts";

describe("secret box", () => {
	const box = createSecretBox(randomBytes(32));

	it("opens what it sealed, and never shows the plaintext in the sealed form", () => {
		const sealed = box.seal("xoxb-123-secret", "tenant:a");
		expect(sealed).toMatch(/^v1\./);
		expect(sealed).not.toContain("xoxb");
		expect(box.open(sealed, "tenant:a")).toBe("xoxb-123-secret");
		expect(box.seal("xoxb-123-secret", "tenant:a")).not.toBe(sealed);
	});

	it("refuses another context, another key and a tampered value", () => {
		const sealed = box.seal("xoxb-123-secret", "tenant:a");
		expect(() => box.open(sealed, "tenant:b")).toThrow(/does not open/);
		expect(() => createSecretBox(randomBytes(32)).open(sealed, "tenant:a")).toThrow(/does not open/);
		const [v, iv, tag, ct] = sealed.split(".");
		const flipped = `${ct!.startsWith("A") ? "B" : "A"}${ct!.slice(1)}`;
		expect(() => box.open([v, iv, tag, flipped].join("."), "tenant:a")).toThrow(/does not open/);
		expect(() => box.open("plain", "tenant:a")).toThrow(/Not a sealed secret/);
	});

	it("parses hex and base64 keys and refuses other lengths", () => {
		const key = randomBytes(32);
		expect(parseSecretKey(key.toString("hex"))).toEqual(key);
		expect(parseSecretKey(key.toString("base64"))).toEqual(key);
		expect(parseSecretKey("abc")).toBeUndefined();
	});

	it("makes a key file once and reads the same key back", () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opswatch-key-"));
		const key = loadOrCreateKeyFile(dir);
		expect(loadOrCreateKeyFile(dir)).toEqual(key);
		expect(fs.statSync(path.join(dir, "secret.key")).mode & 0o777).toBe(0o600);
		fs.rmSync(dir, { recursive: true });
	});
});
