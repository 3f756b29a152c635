import type { Clock } from "../platform/clock.ts";
import type { Db } from "../platform/db/index.ts";
import { AppError } from "../platform/errors.ts";
import type { Tenant } from "../tenant/index.ts";
import type { AlertDesk } from "./engine.ts";
import * as outbox from "./outbox-store.ts";

export interface AnswersDeps {
	db: Db;
	clock: Clock;
	tenantOf(id: string): Promise<Tenant | undefined>;
	alerts: Pick<AlertDesk, "acknowledge">;
}

/** How people answer pages from their phone: a keypress on the call, an `ACK <code>` SMS reply. */
export function createAnswers(deps: AnswersDeps) {
	const { db, clock, tenantOf } = deps;

	/** Acknowledges the alert a notification paged for, as the member it paged. */
	async function acknowledgeFor(
		tenantId: string,
		notificationId: string,
		via: "phone" | "sms",
	): Promise<{ acknowledged: boolean; message: string }> {
		const tenant = await tenantOf(tenantId);
		// A bundle (several held pages sent as one) is answered as one: every alert in it.
		const bundle = tenant ? await outbox.findBundle(db, tenant.schema, notificationId) : [];
		const notification = bundle.find((n) => n.id === notificationId);
		if (!tenant || !notification) return { acknowledged: false, message: "This page is not known to OpsWatch." };
		const by = notification.memberId ? `member:${notification.memberId}` : `notification:${notification.id}`;
		const acknowledged: string[] = [];
		for (const page of bundle) {
			try {
				await deps.alerts.acknowledge(tenant, page.alertId, by, via);
				acknowledged.push(page.message.title);
			} catch (error) {
				// Resolved meanwhile: nothing to acknowledge, and the others still are.
				if (!(error instanceof AppError && error.kind === "conflict")) throw error;
			}
		}
		if (acknowledged.length === 0) {
			return { acknowledged: false, message: `The alert is already resolved: ${notification.message.title}.` };
		}
		const what = acknowledged.length === 1 ? acknowledged[0] : `${acknowledged.length} alerts`;
		return { acknowledged: true, message: `Acknowledged: ${what}. Thank you.` };
	}

	return {
		async keypress(tenantId: string, notificationId: string, digits: string) {
			if (digits !== "1") return { acknowledged: false, message: "Not acknowledged. Press 1 to acknowledge." };
			return acknowledgeFor(tenantId, notificationId, "phone");
		},

		async smsReply(from: string, code: string) {
			const found = await outbox.findAckCode(db, code, clock.now());
			if (!found) return { acknowledged: false, message: `OpsWatch: code ${code} is unknown or has expired.` };
			const tenant = await tenantOf(found.tenantId);
			const notification = tenant && (await outbox.findNotification(db, tenant.schema, found.notificationId));
			// Only the phone the code was sent to may use it: a code is not a password for anyone who reads it.
			if (!notification || notification.destination !== from) {
				return { acknowledged: false, message: `OpsWatch: code ${code} is unknown or has expired.` };
			}
			const result = await acknowledgeFor(found.tenantId, found.notificationId, "sms");
			return { ...result, message: `OpsWatch: ${result.message}` };
		},
	};
}
