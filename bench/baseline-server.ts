/**
 * The least any durable receiver must do: parse an Alertmanager payload and insert its alerts as
 * one multi-row INSERT, answering after commit. Fastify + pg, nothing else. The ingest benchmark
 * runs it beside OpsWatch, on the same PostgreSQL, and reports OpsWatch's speed as a ratio of it.
 * `/parse` only parses and answers: what a Node server can do at all here, the dedup path's ceiling.
 *
 * Usage: node --import tsx bench/baseline-server.ts <port> <database-url> <pool-size>
 */
import Fastify from "fastify";
import pg from "pg";

const [port, databaseUrl, poolSize] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize) });
await pool.query(`
	create table if not exists baseline_alerts (
		id bigserial primary key, fingerprint text not null, status text not null,
		labels jsonb not null, annotations jsonb not null, starts_at timestamptz, raw jsonb not null)`);

interface Alert {
	fingerprint: string;
	status: string;
	labels: Record<string, string>;
	annotations: Record<string, string>;
	startsAt: string;
}

const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
app.post("/ingest", async (request) => {
	const alerts = (request.body as { alerts: Alert[] }).alerts;
	const values: unknown[] = [];
	const rows = alerts.map((alert, i) => {
		values.push(alert.fingerprint, alert.status, alert.labels, alert.annotations, alert.startsAt, alert);
		const p = i * 6;
		return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6})`;
	});
	await pool.query(
		`insert into baseline_alerts (fingerprint, status, labels, annotations, starts_at, raw) values ${rows.join(",")}`,
		values,
	);
	return { stored: alerts.length };
});
// The ceiling of any Node receiver on this machine: parse the JSON body and answer, nothing else.
app.post("/parse", async (request) => ({ stored: (request.body as { alerts: Alert[] }).alerts.length }));
await app.listen({ host: "127.0.0.1", port: Number(port) });
process.stdout.write("ready\n");
process.on("SIGTERM", async () => {
	await app.close();
	await pool.end();
	process.exit(0);
});
