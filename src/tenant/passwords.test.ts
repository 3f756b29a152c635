import { describe, expect, it } from "vitest";
import { generatePassword, hashPassword, verifyPassword } from "./passwords.ts";

describe("passwords", () => {
	it("verifies the password it hashed, and nothing else", async () => {
		const stored = await hashPassword("correct horse battery staple");
		expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
		expect(stored).not.toContain("horse");
		expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
		expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
		expect(await hashPassword("correct horse battery staple")).not.toBe(stored);
	});

	it("refuses every password for an account without one, and malformed hashes", async () => {
		expect(await verifyPassword("anything", null)).toBe(false);
		expect(await verifyPassword("anything", "md5$abc")).toBe(false);
	});

	it("makes one-time passwords of 20 characters", () => {
		expect(generatePassword()).toMatch(/^[\w-]{20}$/);
		expect(generatePassword()).not.toBe(generatePassword());
	});
});
