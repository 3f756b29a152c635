import type { Channel } from "./channels.ts";
import type { NotificationChannel } from "./outbox-store.ts";
import { createSlackChannels } from "./slack.ts";
import { createTwilio } from "./twilio.ts";
import { createVonage } from "./vonage.ts";
import { createWebPushChannel } from "./webpush.ts";

/** The providers a deployment has credentials for; each unset one leaves its channel to the inbox. */
export interface ProviderSettings {
	/** OpsWatch's external address: links in pages, and the callback URLs providers sign. */
	publicUrl: string;
	/** Longest wait for a provider's answer; a timeout is retried (and reconciled first). */
	timeoutMs: number;
	/** Slack, when the deployment has a Slack app: each tenant's workspace token comes from `tokenFor`. */
	slack?: { apiUrl: string; tokenFor: Parameters<typeof createSlackChannels>[0]["tokenFor"] };
	twilio?: { accountSid: string; authToken: string; fromNumber: string; apiUrl: string };
	webPush?: { publicKey: string; privateKey: string; subject: string; allowHttp: boolean };
	vonage?: {
		applicationId: string;
		privateKey: string;
		apiKey: string;
		apiSecret: string;
		fromNumber: string;
		apiUrl: string;
		smsUrl: string;
	};
}

export type Senders = Partial<Record<Exclude<NotificationChannel, "inbox">, Channel>> & {
	/** A plain Slack DM that is not a page (handoff notices), when Slack is configured. */
	slackSay?: ReturnType<typeof createSlackChannels>["say"];
	/** Redraws a sent Slack page once its alert was acknowledged or resolved. */
	slackUpdate?: ReturnType<typeof createSlackChannels>["update"];
	/** Replies in a sent Slack page's thread (where its escalation went). */
	slackReply?: ReturnType<typeof createSlackChannels>["reply"];
};

export function createSenders(settings: ProviderSettings): Senders {
	const senders: Senders = {};
	if (settings.slack) {
		const slack = createSlackChannels({
			tokenFor: settings.slack.tokenFor,
			apiUrl: settings.slack.apiUrl,
			timeoutMs: settings.timeoutMs,
		});
		senders.slack_dm = slack.dm;
		senders.slack_channel = slack.channel;
		senders.slackSay = slack.say;
		senders.slackUpdate = slack.update;
		senders.slackReply = slack.reply;
	}
	if (settings.twilio) {
		const twilio = createTwilio({
			apiUrl: settings.twilio.apiUrl,
			accountSid: settings.twilio.accountSid,
			authToken: settings.twilio.authToken,
			from: settings.twilio.fromNumber,
			publicUrl: settings.publicUrl,
			timeoutMs: settings.timeoutMs,
		});
		senders.phone = twilio.call;
		senders.sms = twilio.sms;
	}
	if (settings.vonage) {
		const vonage = createVonage({
			apiUrl: settings.vonage.apiUrl,
			smsUrl: settings.vonage.smsUrl,
			applicationId: settings.vonage.applicationId,
			privateKey: settings.vonage.privateKey,
			apiKey: settings.vonage.apiKey,
			apiSecret: settings.vonage.apiSecret,
			from: settings.vonage.fromNumber,
			publicUrl: settings.publicUrl,
			timeoutMs: settings.timeoutMs,
		});
		senders.phone = vonage.call;
		senders.sms = vonage.sms;
	}
	if (settings.webPush) {
		senders.push = createWebPushChannel({
			publicKey: settings.webPush.publicKey,
			privateKey: settings.webPush.privateKey,
			subject: settings.webPush.subject,
			allowInsecureEndpoints: settings.webPush.allowHttp,
			timeoutMs: settings.timeoutMs,
		}).channel;
	}
	return senders;
}
