// biome-ignore-all lint/suspicious/noExplicitAny: OTLP JSON is read loosely

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../harness/app.ts";
import { backendName } from "../harness/backend.ts";

interface OtlpSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
}

/** A local stand-in for an OpenTelemetry collector: records what arrives on OTLP/HTTP (JSON). */
const received: { contentType: string; body: any }[] = [];
const collector = createServer(async (request: IncomingMessage, response) => {
	const chunks: Buffer[] = [];
	for await (const chunk of request) chunks.push(chunk as Buffer);
	if (request.url === "/v1/traces") {
		received.push({
			contentType: request.headers["content-type"] ?? "",
			body: JSON.parse(Buffer.concat(chunks).toString()),
		});
	}
	response.writeHead(200, { "content-type": "application/json" }).end("{}");
});

let app: TestApp;
beforeAll(async () => {
	await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
	const { port } = collector.address() as AddressInfo;
	app = await startTestApp({ env: { OPSWATCH_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
});
afterAll(async () => {
	await app?.close();
	await new Promise((resolve) => collector.close(resolve));
});

describe(`OpenTelemetry spans for webhook ingestion (${backendName})`, () => {
	it("exports parse → dedup → enrich → persist → notify under one trace to the OTLP endpoint", async () => {
		const tenant = await app.newTenant("trace");
		const body = readFileSync(new URL("../fixtures/alertmanager/firing-group-3-alerts.json", import.meta.url), "utf8");
		const response = await app.request("POST", "/api/v1/webhooks/alertmanager", {
			key: tenant.adminKey,
			body,
			headers: { "content-type": "application/json" },
		});
		expect(response.status).toBe(200);
		await app.close(); // shutdown flushes the batch of spans

		expect(received.length).toBeGreaterThan(0);
		expect(received[0]!.contentType).toMatch(/json/);
		const resourceSpans = received.flatMap((r) => r.body.resourceSpans);
		const serviceName = resourceSpans[0].resource.attributes.find((a: { key: string }) => a.key === "service.name");
		expect(serviceName.value.stringValue).toBe("opswatch");
		const spans: OtlpSpan[] = resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
		const byName = new Map(spans.map((span) => [span.name, span]));
		for (const name of [
			"webhook.alertmanager",
			"webhook.parse",
			"alert.ingest",
			"alert.dedup",
			"alert.enrich",
			"alert.persist",
			"alert.notify",
		]) {
			expect(byName.has(name), name).toBe(true);
		}
		const root = byName.get("webhook.alertmanager")!;
		const ingest = byName.get("alert.ingest")!;
		expect(byName.get("webhook.parse")!.parentSpanId).toBe(root.spanId);
		expect(ingest.parentSpanId).toBe(root.spanId);
		for (const stage of ["alert.dedup", "alert.enrich", "alert.persist", "alert.notify"]) {
			expect(byName.get(stage)!.parentSpanId, stage).toBe(ingest.spanId);
			expect(byName.get(stage)!.traceId).toBe(root.traceId);
		}
	});
});
