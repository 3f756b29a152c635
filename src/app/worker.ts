import type { EventBus } from "../platform/bus/index.ts";
import type { Logger } from "../platform/log.ts";

/**
 * A background job the worker runs: escalation timers, async Slack work, retention and roster
 * handoffs arrive as jobs with the issues that build them. Each job must be safe to run in
 * several worker processes at once (state in PostgreSQL, claimed with SKIP LOCKED).
 */
export interface Job {
	name: string;
	start(): Promise<void>;
	stop(): Promise<void>;
}

export interface Worker {
	jobs: readonly string[];
	stop(): Promise<void>;
}

export interface WorkerDeps {
	logger: Logger;
	bus: EventBus;
	jobs?: Job[];
}

export async function startWorker({ logger, jobs = [] }: WorkerDeps): Promise<Worker> {
	const started: Job[] = [];
	for (const job of jobs) {
		await job.start();
		started.push(job);
	}
	logger.info({ jobs: started.map((job) => job.name) }, "worker started");
	return {
		jobs: started.map((job) => job.name),
		async stop() {
			// Reverse order: a job may depend on one started before it.
			for (const job of started.reverse()) {
				await job.stop().catch((error) => logger.error({ err: error, job: job.name }, "job failed to stop"));
			}
		},
	};
}
