import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KnowledgeBaseSearcher } from "../../src/alert/index.ts";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

/**
 * The knowledge base is another domain's; at its boundary this stands in for it, answering
 * from a small table of entries the way the KnowledgeBaseSearcher interface promises.
 */
const entries = [
	{
		id: "7d9f3b7e-1c1a-4d8e-9a55-3f6c2b1e0a01",
		title: "Disk full on a database host",
		solution: "Rotate WAL",
		fingerprints: ["fp-disk"],
	},
	{
		id: "7d9f3b7e-1c1a-4d8e-9a55-3f6c2b1e0a02",
		title: "TLS certificate expiry",
		solution: "Renew with certbot",
		fingerprints: [],
	},
];
const searches: string[] = [];
const knowledgeBase: KnowledgeBaseSearcher = {
	async searchByFingerprint(_tenant, fingerprint) {
		searches.push(`fp:${fingerprint}`);
		return entries.find((e) => e.fingerprints.includes(fingerprint));
	},
	async searchByText(_tenant, text) {
		searches.push(`text:${text}`);
		const words = text.toLowerCase().split(/\W+/);
		return entries.filter((e) => words.some((w) => w.length > 3 && e.title.toLowerCase().includes(w)));
	},
};

let app: TestApp;
let tenant: TestTenant;
beforeAll(async () => {
	app = await startTestApp({ knowledgeBase });
	tenant = await app.newTenant("kb");
});
afterAll(() => app?.close());

const ingest = async (alert: object) => {
	const response = await app.request("POST", "/api/v1/webhooks/generic", { key: tenant.adminKey, json: alert });
	const id = response.body.alerts[0].alertId as string;
	return (await app.request("GET", `/api/v1/alerts/${id}`, { key: tenant.adminKey })).body.alert;
};

describe(`knowledge-base enrichment at ingest (${backendName})`, () => {
	it("attaches the entry matching the fingerprint first", async () => {
		const alert = await ingest({ title: "Something odd", fingerprint: "fp-disk" });
		expect(alert.knowledgeBaseEntryId).toBe(entries[0]!.id);
		expect(searches).toEqual(["fp:fp-disk"]);
	});

	it("falls back to the best text match, and to none", async () => {
		const cert = await ingest({ title: "Certificate expiry in 5 days for shop.example", fingerprint: "fp-cert" });
		expect(cert.knowledgeBaseEntryId).toBe(entries[1]!.id);
		const unknown = await ingest({ title: "Queue backlog growing", fingerprint: "fp-queue" });
		expect(unknown.knowledgeBaseEntryId).toBeNull();
	});

	it("does not search again for a repeat inside the window", async () => {
		const before = searches.length;
		await ingest({ title: "Something odd", fingerprint: "fp-disk" });
		expect(searches.length).toBe(before);
	});
});
