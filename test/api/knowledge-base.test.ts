// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are read freely
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, type TestTenant } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

let app: TestApp;
let tenant: TestTenant;
let other: TestTenant;
let engineer: string;
let readonly: string;

beforeAll(async () => {
	app = await startTestApp();
	tenant = await app.newTenant("kb");
	other = await app.newTenant("kbother");
	engineer = await tenant.keyFor("engineer");
	readonly = await tenant.keyFor("readonly");
});
afterAll(() => app?.close());

const call = (method: string, path: string, json?: unknown, key = engineer) =>
	app.request(method, path, { key, ...(json !== undefined && { json }) });

async function createEntry(fields: Record<string, unknown>, key = engineer) {
	const response = await call("POST", "/api/v1/incidents", fields, key);
	expect(response.status, JSON.stringify(response.body)).toBe(201);
	return response.body.incident;
}

const search = (q: string, key = engineer) =>
	call("GET", `/api/v1/incidents/search?q=${encodeURIComponent(q)}`, undefined, key);
const titles = (response: any) => response.body.results.map((r: any) => r.incident.title);
const count = async (key = engineer) =>
	(await call("GET", "/api/v1/incidents?limit=200", undefined, key)).body.incidents.length;

describe(`knowledge base (${backendName})`, () => {
	let tls: any;
	beforeAll(async () => {
		tls = await createEntry({
			title: "TLS certificate expiry on the shop frontend",
			fingerprints: ["fp-tls-shop"],
			symptoms: "Browsers warn about an expired certificate; synthetic checks fail with x509 errors",
			rootCause: "cert-manager could not renew: the ACME HTTP-01 solver was blocked by the ingress allow-list",
			solution:
				"Allow `/.well-known/acme-challenge/` on the ingress, then `kubectl delete certificaterequest -n shop --all`",
			tags: ["tls", "cert-manager"],
			severity: "critical",
		});
		await createEntry({
			title: "Disk full on database host",
			fingerprints: ["fp-disk-db"],
			symptoms: "Writes fail with ENOSPC; PostgreSQL refuses connections",
			solution: "Remove old WAL archives with pg_archivecleanup; never delete pg_wal by hand",
			tags: ["disk", "postgres"],
		});
	});

	it("creates an entry and reads it back with its stats", async () => {
		const read = await call("GET", `/api/v1/incidents/${tls.id}`);
		expect(read.status).toBe(200);
		expect(read.body.incident).toMatchObject({
			title: "TLS certificate expiry on the shop frontend",
			fingerprints: ["fp-tls-shop"],
			source: "human",
			needsReview: false,
			mergedInto: null,
			version: 1,
			stats: { timesSeen: 0, lastSeenAt: null, meanTimeToResolveSeconds: null },
		});
	});

	it("finds entries by full text, ranked, and despite typos", async () => {
		expect(titles(await search("certificate expired"))[0]).toBe("TLS certificate expiry on the shop frontend");
		expect(titles(await search("ENOSPC"))).toEqual(["Disk full on database host"]);
		// Misspelled: no word matches exactly, the title's trigrams still do.
		expect(titles(await search("certficate expiry"))).toContain("TLS certificate expiry on the shop frontend");
		expect(titles(await search("dsik full"))).toContain("Disk full on database host");
		expect((await search("kafka consumer lag")).body.results).toEqual([]);
	});

	it("reads search operators, quotes and SQL as plain words, never as syntax", async () => {
		for (const q of [
			"cert & (expiry | !foo):*",
			'"certificate expiry',
			"disk' OR 1=1; drop table incidents; --",
			"\\",
		]) {
			const response = await search(q);
			expect(response.status, q).toBe(200);
			expect(Array.isArray(response.body.results)).toBe(true);
		}
		expect(titles(await search('"certificate expiry'))).toContain("TLS certificate expiry on the shop frontend");
		expect(await count()).toBe(2);
	});

	it("refuses an empty or oversized query with a 4xx naming q", async () => {
		for (const q of ["", "   ", "x".repeat(501)]) {
			const response = await app.request("GET", `/api/v1/incidents/search?q=${q}`, { key: engineer });
			expect(response.status).toBe(400);
			expect(JSON.stringify(response.body.error.fields)).toContain("q");
		}
		// 100 KB does not fit in a request line: Node refuses it before OpsWatch sees it.
		const huge = await app.request("GET", `/api/v1/incidents/search?q=${"x".repeat(100 * 1024)}`, { key: engineer });
		expect(huge.status).toBe(431);
	});

	it("looks up an entry by exact fingerprint", async () => {
		const found = await call("GET", "/api/v1/incidents/fingerprint/fp-tls-shop");
		expect(found.status).toBe(200);
		expect(found.body.incident.id).toBe(tls.id);
		const missing = await call("GET", "/api/v1/incidents/fingerprint/fp-nobody");
		expect(missing.status).toBe(404);
		expect(missing.body.error.message).toContain("fp-nobody");
	});

	it("refuses a fingerprint another entry already covers, and writes nothing", async () => {
		const before = await count();
		const response = await call("POST", "/api/v1/incidents", { title: "Duplicate", fingerprints: ["fp-tls-shop"] });
		expect(response.status).toBe(409);
		expect(response.body.error.code).toBe("incident.fingerprint_taken");
		expect(response.body.error.message).toContain(tls.id);
		expect(await count()).toBe(before);
	});

	it("updates with optimistic concurrency and keeps every version", async () => {
		const entry = await createEntry({ title: "Replication lag on replica-2", symptoms: "Reads are stale" });
		const updated = await call("PUT", `/api/v1/incidents/${entry.id}`, {
			title: "Replication lag on replica-2",
			symptoms: "Reads are stale by minutes",
			solution: "Cancel the long-running analytics query on the replica",
			version: 1,
		});
		expect(updated.status).toBe(200);
		expect(updated.body.incident.version).toBe(2);

		const stale = await call("PUT", `/api/v1/incidents/${entry.id}`, { title: "Overwritten", version: 1 });
		expect(stale.status).toBe(409);
		expect(stale.body.error.code).toBe("incident.version_conflict");
		expect((await call("GET", `/api/v1/incidents/${entry.id}`)).body.incident.title).toBe(
			"Replication lag on replica-2",
		);

		const history = (await call("GET", `/api/v1/incidents/${entry.id}/history`)).body.versions;
		expect(history.map((v: any) => [v.version, v.action])).toEqual([
			[1, "created"],
			[2, "updated"],
		]);
		expect(history[1].changes).toEqual({
			symptoms: { from: "Reads are stale", to: "Reads are stale by minutes" },
			solution: { from: "", to: "Cancel the long-running analytics query on the replica" },
		});
		expect(history[1].changedBy).toMatch(/^api_key:/);
	});

	it("merges a duplicate: fingerprints, stats and history move, the duplicate points at the target", async () => {
		const target = await createEntry({ title: "OOM kill of the checkout service", fingerprints: ["fp-oom-a"] });
		const duplicate = await createEntry({ title: "checkout OOMKilled", fingerprints: ["fp-oom-b"], tags: ["k8s"] });
		const manager = await tenant.keyFor("manager");

		const denied = await call("POST", `/api/v1/incidents/${duplicate.id}/merge`, { into: target.id });
		expect(denied.status).toBe(403);

		const merged = await call("POST", `/api/v1/incidents/${duplicate.id}/merge`, { into: target.id }, manager);
		expect(merged.status).toBe(200);
		expect(merged.body.target.fingerprints).toEqual(["fp-oom-a", "fp-oom-b"]);
		expect(merged.body.target.tags).toEqual(["k8s"]);
		expect(merged.body.merged).toMatchObject({ mergedInto: target.id, fingerprints: [] });

		expect((await call("GET", `/api/v1/incidents/${duplicate.id}`)).body.incident.mergedInto).toBe(target.id);
		expect((await call("GET", "/api/v1/incidents/fingerprint/fp-oom-b")).body.incident.id).toBe(target.id);
		const history = (await call("GET", `/api/v1/incidents/${target.id}/history`)).body.versions;
		expect(history.map((v: any) => [v.incidentId === target.id ? "target" : "duplicate", v.action])).toEqual([
			["target", "created"],
			["duplicate", "created"],
			["target", "merged"],
			["duplicate", "merged_into"],
		]);
		const listed = (await call("GET", "/api/v1/incidents?limit=200")).body.incidents.map((i: any) => i.id);
		expect(listed).not.toContain(duplicate.id);

		// A merged entry takes no further changes, and is no merge target.
		const change = await call("PUT", `/api/v1/incidents/${duplicate.id}`, { title: "x", version: 2 });
		expect(change.status).toBe(409);
		expect(change.body.error.code).toBe("incident.merged");
		const third = await createEntry({ title: "Checkout memory leak" });
		const intoMerged = await call("POST", `/api/v1/incidents/${third.id}/merge`, { into: duplicate.id }, manager);
		expect(intoMerged.status).toBe(409);
		expect(intoMerged.body.error.code).toBe("incident.merge_target_merged");
		expect(intoMerged.body.error.message).toContain(target.id);

		const self = await call("POST", `/api/v1/incidents/${third.id}/merge`, { into: third.id }, manager);
		expect(self.status).toBe(400);
		expect(self.body.error.code).toBe("incident.merge_into_self");
		expect((await call("GET", `/api/v1/incidents/${third.id}`)).body.incident.mergedInto).toBeNull();
	});

	it("keeps tenants apart: another tenant's entries cannot be read, found, merged or changed", async () => {
		const theirs = await createEntry(
			{ title: "TLS certificate expiry elsewhere", fingerprints: ["fp-theirs"] },
			other.adminKey,
		);
		const manager = await tenant.keyFor("manager");
		expect((await call("GET", `/api/v1/incidents/${theirs.id}`)).status).toBe(404);
		expect((await call("GET", "/api/v1/incidents/fingerprint/fp-theirs")).status).toBe(404);
		expect(titles(await search("certificate expiry"))).not.toContain("TLS certificate expiry elsewhere");
		const merge = await call("POST", `/api/v1/incidents/${tls.id}/merge`, { into: theirs.id }, manager);
		expect(merge.status).toBe(404);
		expect((await call("GET", `/api/v1/incidents/${tls.id}`)).body.incident.mergedInto).toBeNull();
		const put = await call("PUT", `/api/v1/incidents/${theirs.id}`, { title: "mine now", version: 1 });
		expect(put.status).toBe(404);
		const still = await call("GET", `/api/v1/incidents/${theirs.id}`, undefined, other.adminKey);
		expect(still.body.incident.title).toBe("TLS certificate expiry elsewhere");
	});

	it("lets readonly users read but not write", async () => {
		expect((await search("certificate", readonly)).status).toBe(200);
		const before = await count();
		const denied = await call("POST", "/api/v1/incidents", { title: "Nope" }, readonly);
		expect(denied.status).toBe(403);
		expect(await count()).toBe(before);
	});

	it("stores Markdown with <script> as written and serves it only as JSON text", async () => {
		const markdown = "Run `certbot renew`.\n\n<script>alert('x')</script>";
		const entry = await createEntry({ title: "Markdown check", solution: markdown });
		const read = await call("GET", `/api/v1/incidents/${entry.id}`);
		expect(read.headers.get("content-type")).toMatch(/^application\/json/);
		expect(read.body.incident.solution).toBe(markdown);
	});

	it("refuses bad entries with 400 naming the field, and unknown runbooks with 422", async () => {
		const before = await count();
		const cases: [unknown, string][] = [
			[{}, "title"],
			[{ title: "" }, "title"],
			[{ title: "x", severity: "apocalyptic" }, "severity"],
			[{ title: "x", matchers: [{ label: "job", op: "=~", value: "(" }] }, "matchers"],
			[{ title: "x", fingerprints: "fp" }, "fingerprints"],
			[{ title: "x", unknownField: 1 }, "unknownField"],
		];
		for (const [body, field] of cases) {
			const response = await call("POST", "/api/v1/incidents", body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(JSON.stringify(response.body.error), JSON.stringify(body)).toContain(field);
		}
		const runbook = await call("POST", "/api/v1/incidents", {
			title: "x",
			runbookIds: ["00000000-0000-4000-8000-000000000000"],
		});
		expect(runbook.status).toBe(422);
		expect(runbook.body.error.code).toBe("incident.unknown_runbook");
		expect(await count()).toBe(before);
	});
});

describe(`runbooks (${backendName})`, () => {
	const required = [
		"high-cpu",
		"disk-full",
		"memory-leak-oom",
		"tls-certificate-expiry",
		"database-replication-lag",
		"kubernetes-node-not-ready",
		"pod-crashloopbackoff",
		"http-5xx-spike",
		"failed-deployment-rollback",
	];

	it("lists the pre-seeded templates, each real guidance with commands", async () => {
		const response = await call("GET", "/api/v1/runbooks/templates", undefined, readonly);
		expect(response.status).toBe(200);
		const ids = response.body.templates.map((t: any) => t.id);
		for (const id of required) expect(ids).toContain(id);
		for (const template of response.body.templates) {
			for (const section of ["## Diagnosis", "## Mitigation", "## Verification"]) {
				expect(template.body, `${template.id} ${section}`).toContain(section);
			}
			expect(template.body.match(/```/g)?.length ?? 0, template.id).toBeGreaterThanOrEqual(6);
			expect(template.title.length).toBeGreaterThan(5);
		}
	});

	it("creates a runbook from a template, versions its changes, and refuses a stale version", async () => {
		const created = await call("POST", "/api/v1/runbooks", { templateId: "disk-full" });
		expect(created.status).toBe(201);
		const runbook = created.body.runbook;
		expect(runbook).toMatchObject({ templateId: "disk-full", version: 1 });
		expect(runbook.body).toContain("df -h");

		const updated = await call("PUT", `/api/v1/runbooks/${runbook.id}`, {
			title: "Disk full on db hosts",
			body: `${runbook.body}\n\nAlso check the WAL archive bucket.`,
			tags: ["disk"],
			version: 1,
		});
		expect(updated.status).toBe(200);
		expect(updated.body.runbook.version).toBe(2);
		const stale = await call("PUT", `/api/v1/runbooks/${runbook.id}`, { title: "x", body: "y", version: 1 });
		expect(stale.status).toBe(409);
		const versions = (await call("GET", `/api/v1/runbooks/${runbook.id}/versions`)).body.versions;
		expect(versions.map((v: any) => v.title)).toEqual([runbook.title, "Disk full on db hosts"]);
	});

	it("refuses an unknown template id with 422 and creates nothing", async () => {
		const before = (await call("GET", "/api/v1/runbooks")).body.runbooks.length;
		const response = await call("POST", "/api/v1/runbooks", { templateId: "kernel-panic-of-doom" });
		expect(response.status).toBe(422);
		expect(response.body.error.code).toBe("runbook.unknown_template");
		expect(response.body.error.message).toContain("high-cpu");
		expect((await call("GET", "/api/v1/runbooks")).body.runbooks.length).toBe(before);
	});

	it("serves Markdown with <script> as inert text, never as HTML", async () => {
		const body = "# Fix\n\n<script>alert(document.cookie)</script>";
		const created = await call("POST", "/api/v1/runbooks", { title: "Inert", body });
		const id = created.body.runbook.id;
		const json = await call("GET", `/api/v1/runbooks/${id}`);
		expect(json.body.runbook.body).toBe(body);
		const markdown = await app.request("GET", `/api/v1/runbooks/${id}?format=markdown`, { key: engineer });
		expect(markdown.status).toBe(200);
		expect(markdown.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
		expect(markdown.headers.get("x-content-type-options")).toBe("nosniff");
		expect(markdown.headers.get("content-security-policy")).toContain("default-src 'none'");
		expect(markdown.text).toBe(body);
	});

	it("links runbooks from entries and keeps runbooks per tenant", async () => {
		const runbook = (await call("POST", "/api/v1/runbooks", { title: "Renew certificates", body: "certbot renew" }))
			.body.runbook;
		const entry = await createEntry({ title: "Certificate renewal failed", runbookIds: [runbook.id] });
		expect(entry.runbookIds).toEqual([runbook.id]);
		expect((await call("GET", `/api/v1/runbooks/${runbook.id}`, undefined, other.adminKey)).status).toBe(404);
		const foreign = await call("POST", "/api/v1/incidents", { title: "x", runbookIds: [runbook.id] }, other.adminKey);
		expect(foreign.status).toBe(422);
		expect((await call("DELETE", `/api/v1/runbooks/${runbook.id}`, undefined, readonly)).status).toBe(403);
		expect((await call("DELETE", `/api/v1/runbooks/${runbook.id}`)).status).toBe(204);
	});
});
