import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../platform/errors.ts";
import type { EscalationApi } from "../escalations.ts";
import { gatherResponseTwiml, parseAckReply, smsReplyTwiml, verifyTwilioSignature } from "../twilio.ts";
import { inputResponseNcco, verifyVonageSignedJwt, verifyVonageSmsSignature } from "../vonage.ts";

/**
 * Twilio's callbacks: a keypress on a page's call, an SMS reply, delivery status. Each request is
 * verified by X-Twilio-Signature over the URL Twilio called (OpsWatch's public URL) and the form
 * fields; anything else gets 403 and changes nothing. Answers are TwiML, read or texted back.
 */
export const twilioWebhookRoutes: FastifyPluginAsyncZod<{
	escalations: EscalationApi;
	authToken: string;
	publicUrl: string;
}> = async (app, { escalations, authToken, publicUrl }) => {
	// Twilio posts forms; the parser lives in this plugin's scope only.
	app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => {
		done(null, Object.fromEntries(new URLSearchParams(body as string)));
	});
	const tags = ["telephony"];
	const form = z.record(z.string(), z.string());
	const twimlReply = { 200: z.string().meta({ description: "TwiML" }) };

	// Before validation, so a forged request learns nothing about what a valid one looks like.
	app.addHook("preValidation", async (request) => {
		const params = (request.body ?? {}) as Record<string, string>;
		if (
			!verifyTwilioSignature(
				authToken,
				publicUrl + request.url,
				params,
				request.headers["x-twilio-signature"] as string | undefined,
			)
		) {
			throw new AppError("forbidden", "telephony.bad_signature", "X-Twilio-Signature does not match this request");
		}
	});

	app.post(
		"/api/v1/telephony/twilio/gather",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "A keypress on a page's call: 1 acknowledges the alert",
				querystring: z.object({ tenant: z.uuid(), notification: z.uuid() }).strict(),
				body: form,
				response: twimlReply,
			},
		},
		async (request, reply) => {
			const result = await escalations.keypress(
				request.query.tenant,
				request.query.notification,
				request.body.Digits ?? "",
			);
			return reply.type("text/xml").send(gatherResponseTwiml(result.acknowledged, result.message));
		},
	);

	app.post(
		"/api/v1/telephony/twilio/sms",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "An SMS reply: `ACK <code>` acknowledges the paged alert",
				body: form,
				response: twimlReply,
			},
		},
		async (request, reply) => {
			const code = parseAckReply(request.body.Body ?? "");
			// Twilio texts the TwiML back, so a wrong code gets a readable answer rather than an HTTP error
			// that would leave the person on call guessing.
			const answer = code
				? (await escalations.smsReply(request.body.From ?? "", code)).message
				: "OpsWatch: reply ACK followed by the code in the page, e.g. ACK 123456.";
			return reply.type("text/xml").send(smsReplyTwiml(answer));
		},
	);

	app.post(
		"/api/v1/telephony/twilio/status",
		{
			config: { auth: "public" },
			schema: {
				tags,
				summary: "Delivery status of a page's call or SMS (recorded in the log)",
				querystring: z.object({ tenant: z.uuid(), notification: z.uuid() }).strict(),
				body: form,
			},
		},
		async (request, reply) => {
			request.log.info(
				{
					tenant_id: request.query.tenant,
					notification_id: request.query.notification,
					status: request.body.CallStatus ?? request.body.MessageStatus,
				},
				"twilio delivery status",
			);
			return reply.status(204).send();
		},
	);
};

/**
 * Vonage's callbacks: a keypress on a page's call and call events (each carrying a JWT signed with
 * the signature secret over the body's hash), and inbound SMS (signed with `sig`). Anything not
 * signed so gets 403 and changes nothing.
 */
export const vonageWebhookRoutes: FastifyPluginAsyncZod<{
	escalations: EscalationApi;
	signatureSecret: string;
	smsSignatureMethod: "md5hash" | "sha256";
}> = async (app, { escalations, signatureSecret, smsSignatureMethod }) => {
	// The JWT signs the body's SHA-256, so the body is kept as it arrived.
	const rawBodies = new WeakMap<object, string>();
	// Replaces the server's parser, which would not keep the text (and refuses an empty body).
	app.removeContentTypeParser("application/json");
	app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
		rawBodies.set(request, body as string);
		try {
			done(null, body === "" ? {} : JSON.parse(body as string));
		} catch {
			done(new AppError("validation", "request.invalid_json", "The body is not valid JSON"), undefined);
		}
	});
	app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) => {
		done(null, Object.fromEntries(new URLSearchParams(body as string)));
	});
	const tags = ["telephony"];
	const query = z.object({ tenant: z.uuid(), notification: z.uuid() }).strict();
	const signedByJwt = async (request: { headers: Record<string, unknown> }) => {
		const token = request.headers.authorization as string | undefined;
		if (!verifyVonageSignedJwt(token, signatureSecret, rawBodies.get(request) ?? "")) {
			throw new AppError(
				"forbidden",
				"telephony.bad_signature",
				"The Vonage signed-webhook JWT does not match this request",
			);
		}
	};

	app.post(
		"/api/v1/telephony/vonage/input",
		{
			config: { auth: "public" },
			preValidation: signedByJwt,
			schema: {
				tags,
				summary: "A keypress on a page's call (DTMF): 1 acknowledges the alert; answers an NCCO",
				querystring: query,
				body: z.object({ dtmf: z.object({ digits: z.string().optional() }).optional() }).loose(),
			},
		},
		async (request) => {
			const digits = request.body.dtmf?.digits ?? "";
			const result = await escalations.keypress(request.query.tenant, request.query.notification, digits);
			return inputResponseNcco(result.acknowledged, result.message);
		},
	);

	app.post(
		"/api/v1/telephony/vonage/event",
		{
			config: { auth: "public" },
			preValidation: signedByJwt,
			schema: {
				tags,
				summary: "A page's call status (recorded in the log)",
				querystring: query,
				body: z.object({ status: z.string().optional() }).loose(),
			},
		},
		async (request, reply) => {
			request.log.info(
				{ tenant_id: request.query.tenant, notification_id: request.query.notification, status: request.body.status },
				"vonage call status",
			);
			return reply.status(204).send();
		},
	);

	const inboundSms = async (params: Record<string, string>) => {
		if (!verifyVonageSmsSignature(params, signatureSecret, smsSignatureMethod)) {
			throw new AppError("forbidden", "telephony.bad_signature", "The inbound SMS's sig does not match");
		}
		const code = parseAckReply(params.text ?? "");
		// Vonage gives numbers without "+"; members' numbers are stored in E.164 with it.
		const from = params.msisdn ? `+${params.msisdn.replace(/^\+/, "")}` : "";
		const result = code ? await escalations.smsReply(from, code) : undefined;
		return { acknowledged: result?.acknowledged ?? false };
	};
	const smsSchema = { tags, summary: "An inbound SMS: `ACK <code>` acknowledges the paged alert" };
	app.get(
		"/api/v1/telephony/vonage/sms",
		{ config: { auth: "public" }, schema: { ...smsSchema, querystring: z.record(z.string(), z.string()) } },
		async (request) => inboundSms(request.query),
	);
	app.post(
		"/api/v1/telephony/vonage/sms",
		{ config: { auth: "public" }, schema: { ...smsSchema, body: z.record(z.string(), z.unknown()) } },
		async (request) => inboundSms(Object.fromEntries(Object.entries(request.body).map(([k, v]) => [k, String(v)]))),
	);
};
