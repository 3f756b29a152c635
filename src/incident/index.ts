/** The incident domain: the knowledge base, runbooks, and learning from resolutions. Other code imports only this. */

export { type KnowledgeBaseRoutesOptions, knowledgeBaseRoutes } from "./handler.ts";
export { createKbMetrics, type KbMetrics } from "./metrics.ts";
export { createRunbookService, type RunbookApi } from "./runbooks.ts";
export { RANKED_CANDIDATES, TYPO_SIMILARITY_THRESHOLD } from "./search.ts";
export { createKnowledgeBase, type KnowledgeBaseApi, type KnowledgeBaseDeps } from "./service.ts";
export type { Incident, IncidentInput, KbPrompt, Runbook, RunbookTemplate } from "./types.ts";
