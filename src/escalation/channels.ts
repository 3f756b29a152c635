/**
 * The contract between the outbox and the providers that deliver a page (Slack, Twilio, Vonage,
 * Web Push). The outbox owns retries, idempotency and crash recovery; a channel only sends, and
 * answers whether a notification it may have sent before a crash was in fact delivered.
 */
import type { AlertPageView } from "../alert/index.ts";

/** What a page is about: enough for a person to act on it from a phone's lock screen. */
export type NotificationAlert = AlertPageView;

/** One row of the outbox, as a channel sees it. */
export interface OutgoingNotification {
	/** The outbox row id. */
	id: string;
	/**
	 * Idempotency key: escalation, pass, tier, person and channel. Passed to the provider where it
	 * keeps one (Slack message metadata), so a resend after a crash can be recognised.
	 */
	key: string;
	tenant: { id: string; slug: string; schema: string };
	alert: NotificationAlert;
	/** Slack user or channel id, or an E.164 phone number. Never logged. */
	destination: string;
	/** Short code a person replies with (`ACK <code>`) to acknowledge by SMS. */
	ackCode: string;
	/** When this delivery attempt was claimed: the lower bound for finding an earlier attempt's message. */
	claimedAt: Date;
}

/** What a provider answered for a delivered notification. */
export interface Delivery {
	/** The provider's id (Slack `ts`, Twilio `SID`, …). */
	providerRef: string;
}

/** A provider refused or failed; `retryable` says whether trying again later may help. */
export class ChannelError extends Error {
	readonly retryable: boolean;
	constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
		super(message, { cause: options.cause });
		this.name = "ChannelError";
		this.retryable = options.retryable;
	}
}

/** A way to deliver a notification. */
export interface Channel {
	send(notification: OutgoingNotification): Promise<Delivery>;
	/**
	 * After a worker died between sending and recording: the delivery an earlier attempt made, if
	 * the provider shows one (matched by the idempotency key, or by the SMS code), else undefined.
	 */
	findDelivered(notification: OutgoingNotification): Promise<Delivery | undefined>;
}

/** A telephony provider: a call that reads the alert and takes keypress 1, and an SMS with an ACK code. */
export interface Telephony {
	readonly provider: "twilio" | "vonage";
	call: Channel;
	sms: Channel;
}
