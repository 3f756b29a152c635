import type { AlertStatus } from "./types.ts";

export type Transition = "acknowledge" | "resolve";

export type TransitionOutcome =
	| { kind: "changed"; to: AlertStatus }
	/** Already in the target state: the request succeeds and changes nothing. */
	| { kind: "unchanged" }
	| { kind: "invalid"; reason: string };

/**
 * The alert state machine: firing → acknowledged → resolved, and firing → resolved.
 * Repeating a transition is harmless; going back from resolved is not a transition (a new
 * firing alert with the same fingerprint opens a new alert instead).
 */
export function transition(from: AlertStatus, action: Transition): TransitionOutcome {
	if (action === "acknowledge") {
		if (from === "firing") return { kind: "changed", to: "acknowledged" };
		if (from === "acknowledged") return { kind: "unchanged" };
		return { kind: "invalid", reason: "A resolved alert cannot be acknowledged" };
	}
	if (from === "resolved") return { kind: "unchanged" };
	return { kind: "changed", to: "resolved" };
}
