/** The roster domain: schedules, rotations, overrides, who is on call. Other code imports only this. */

export { type RosterRoutesOptions, rosterRoutes } from "./handler.ts";
export { createHandoffJob, type HandoffNotifier } from "./handoff-job.ts";
export type { RecordedHandoff } from "./service.ts";
export { createRosterService, type RosterApi, type RosterQuerier, type RosterServiceDeps } from "./service.ts";
export type { OnCall, Shift } from "./types.ts";
