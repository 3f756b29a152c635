import { describe, expect, it } from "vitest";
import { retrySerializable } from "./retry.ts";

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe("retrying a transaction after a conflict", () => {
	it("runs again after a serialization failure or deadlock, and returns the result", async () => {
		const codes = ["40001", "40P01"];
		let runs = 0;
		const result = await retrySerializable(async () => {
			runs++;
			const code = codes.shift();
			if (code) throw pgError(code);
			return "committed";
		});
		expect(result).toBe("committed");
		expect(runs).toBe(3);
	});

	it("passes other errors through at once, and gives up after the last attempt", async () => {
		let runs = 0;
		await expect(
			retrySerializable(async () => {
				runs++;
				throw pgError("23505");
			}),
		).rejects.toThrow("sqlstate 23505");
		expect(runs).toBe(1);
		runs = 0;
		await expect(
			retrySerializable(async () => {
				runs++;
				throw pgError("40001");
			}, 3),
		).rejects.toThrow("sqlstate 40001");
		expect(runs).toBe(3);
	});
});
