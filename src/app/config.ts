import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseSecretKey } from "../platform/secret-box.ts";

/**
 * Boot configuration: `OPSWATCH_*` environment variables over an optional YAML file, validated
 * by one zod schema, parsed once in `main` and passed down frozen. Nothing else reads process.env.
 */

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const urlWithScheme = (schemes: string[], what: string) =>
	z.string().refine(
		(value) => {
			try {
				return schemes.includes(new URL(value).protocol);
			} catch {
				return false;
			}
		},
		{ message: `must be a ${what} URL (${schemes.map((s) => `${s}//`).join(" or ")}…)` },
	);

/** Every setting: its YAML key, its environment variable, its schema and what it means. */
export const settings = {
	host: {
		env: "OPSWATCH_HOST",
		schema: z.string().min(1).default("0.0.0.0"),
		help: "Address the HTTP server listens on.",
	},
	port: { env: "OPSWATCH_PORT", schema: port.default(8080), help: "HTTP port." },
	data_dir: {
		env: "OPSWATCH_DATA_DIR",
		schema: z.string().min(1).default("./data"),
		help: "Where the embedded database (PGlite) keeps its files. Unused with OPSWATCH_DATABASE_URL.",
	},
	database_url: {
		env: "OPSWATCH_DATABASE_URL",
		schema: urlWithScheme(["postgres:", "postgresql:"], "PostgreSQL").optional(),
		help: "PostgreSQL connection URL. Unset: the embedded PostgreSQL (PGlite) in the data dir.",
		secret: true,
	},
	database_pool_size: {
		env: "OPSWATCH_DATABASE_POOL_SIZE",
		schema: positiveInt(1, 200).default(10),
		help: "Connections per process to PostgreSQL (the embedded database always uses one).",
	},
	redis_url: {
		env: "OPSWATCH_REDIS_URL",
		schema: urlWithScheme(["redis:", "rediss:"], "Redis").optional(),
		help: "Redis URL for events, dedup windows, sessions and rate limits. Unset: in-process.",
		secret: true,
	},
	redis_prefix: {
		env: "OPSWATCH_REDIS_PREFIX",
		schema: z
			.string()
			.regex(/^[A-Za-z0-9:_-]{1,64}$/, "must be 1–64 characters of letters, digits, ':', '_' or '-'")
			.default("opswatch:"),
		help: "Prefix of every Redis key and channel, so deployments can share one Redis.",
	},
	log_level: {
		env: "OPSWATCH_LOG_LEVEL",
		schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
		help: "Log level (JSON logs on stdout).",
	},
	body_limit_bytes: {
		env: "OPSWATCH_BODY_LIMIT_BYTES",
		schema: positiveInt(1024, 100 * 1024 * 1024).default(1024 * 1024),
		help: "Largest request body accepted; larger ones get 413.",
	},
	max_inflight_body_bytes: {
		env: "OPSWATCH_MAX_INFLIGHT_BODY_BYTES",
		schema: positiveInt(64 * 1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
		help: "Most request-body bytes held at once; beyond it new requests get 503 with Retry-After (bounds memory in a storm).",
	},
	admin_token: {
		env: "OPSWATCH_ADMIN_TOKEN",
		schema: z.string().min(32, "must be at least 32 characters").optional(),
		help: "Platform-admin credential for /api/v1/admin/tenants (tenants and their keys). Unset: the first embedded start generates one.",
		secret: true,
	},
	dedup_window_ms: {
		env: "OPSWATCH_DEDUP_WINDOW_MS",
		schema: positiveInt(1000, 86_400_000).default(300_000),
		help: "How long after its first repeat a repeat of an alert is counted against it without an upsert.",
	},
	max_alerts_per_request: {
		env: "OPSWATCH_MAX_ALERTS_PER_REQUEST",
		schema: positiveInt(1, 100_000).default(1000),
		help: "Most alerts one webhook request may carry; more get 400.",
	},
	otlp_endpoint: {
		env: "OPSWATCH_OTLP_ENDPOINT",
		schema: urlWithScheme(["http:", "https:"], "OTLP/HTTP").optional(),
		help: "OpenTelemetry collector (OTLP/HTTP), e.g. http://collector:4318. Unset: no tracing.",
	},
	shutdown_timeout_ms: {
		env: "OPSWATCH_SHUTDOWN_TIMEOUT_MS",
		schema: positiveInt(100, 600_000).default(10_000),
		help: "On SIGTERM, how long in-flight requests may take before the process exits anyway.",
	},
	oidc_issuer: {
		env: "OPSWATCH_OIDC_ISSUER",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").optional(),
		help: "OpenID Connect issuer (Keycloak realm, Dex, …) whose signed JWTs are accepted as `Authorization: Bearer`; its keys come from the issuer's discovery document. Unset: API keys only.",
	},
	oidc_audience: {
		env: "OPSWATCH_OIDC_AUDIENCE",
		schema: z.string().min(1).optional(),
		help: "The `aud` a token must carry (OpsWatch's client id or API audience at the issuer).",
	},
	oidc_tenant_claim: {
		env: "OPSWATCH_OIDC_TENANT_CLAIM",
		schema: z.string().min(1).default("tenant"),
		help: "Claim naming the tenant (its slug) a token acts in; a dotted path reaches nested claims. Without it, a deployment with one tenant uses that one.",
	},
	oidc_role_claim: {
		env: "OPSWATCH_OIDC_ROLE_CLAIM",
		schema: z.string().min(1).default("roles"),
		help: "Claim carrying the OpsWatch role (`admin`, `manager`, `engineer`, `readonly`; a list takes the highest), e.g. `realm_access.roles` for Keycloak. Absent: the role of the member with the token's e-mail address.",
	},
	oidc_algorithms: {
		env: "OPSWATCH_OIDC_ALGORITHMS",
		schema: z
			.string()
			.default("RS256,PS256,ES256,EdDSA")
			.transform((value) =>
				value
					.split(",")
					.map((alg) => alg.trim())
					.filter(Boolean),
			)
			.refine(
				(algs) => algs.length > 0 && algs.every((alg) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(alg)),
				"must list asymmetric JWS algorithms, e.g. RS256,ES256",
			),
		help: "Signature algorithms a token may use (asymmetric only; `none` and HMAC never).",
	},
	oidc_clock_skew_seconds: {
		env: "OPSWATCH_OIDC_CLOCK_SKEW_SECONDS",
		schema: positiveInt(0, 300).default(30),
		help: "How far a token's exp and nbf may be off our clock.",
	},
	oidc_client_id: {
		env: "OPSWATCH_OIDC_CLIENT_ID",
		schema: z.string().min(1).optional(),
		help: "OpsWatch's client id at the issuer: enables browser sign-in (/api/v1/auth/login, authorization code + PKCE) with a server-side session.",
	},
	oidc_client_secret: {
		env: "OPSWATCH_OIDC_CLIENT_SECRET",
		schema: z.string().min(1).optional(),
		help: "The client's secret, for a confidential client (unset: a public client, PKCE only).",
		secret: true,
	},
	session_ttl_minutes: {
		env: "OPSWATCH_SESSION_TTL_MINUTES",
		schema: positiveInt(5, 7 * 24 * 60).default(480),
		help: "How long a browser session lasts after sign-in.",
	},
	rate_limit_per_key: {
		env: "OPSWATCH_RATE_LIMIT_PER_KEY",
		// High by default: an alert storm must never be throttled into lost alerts. Lower it to keep one
		// noisy sender from starving a shared deployment.
		schema: positiveInt(1, 100_000_000).default(600_000),
		help: "Requests per minute one API key may make; beyond, 429 with Retry-After (shared across processes through Redis). The default, 10,000 a second, is above any alert storm.",
	},
	rate_limit_per_tenant: {
		env: "OPSWATCH_RATE_LIMIT_PER_TENANT",
		schema: positiveInt(1, 100_000_000).default(1_200_000),
		help: "Requests per minute all of a tenant's API keys together may make; beyond, 429 with Retry-After.",
	},
	public_url: {
		env: "OPSWATCH_PUBLIC_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").optional(),
		help: "OpsWatch's address as people and providers reach it: links in pages, Twilio/Vonage callbacks (their signatures cover it). Unset: http://localhost:<port>.",
	},
	provider_timeout_ms: {
		env: "OPSWATCH_PROVIDER_TIMEOUT_MS",
		schema: positiveInt(100, 10_000).default(10_000),
		help: "How long a call to Slack, Twilio, Vonage or a push service may take before it is retried (at most 10 s: a claimed page is held 15 s).",
	},
	slack_bot_token: {
		env: "OPSWATCH_SLACK_BOT_TOKEN",
		schema: z
			.string()
			.regex(/^xox[bp]-/, "must be a Slack bot token (xoxb-…)")
			.optional(),
		help: "The deployment's Slack bot token: speaks for every tenant whose Slack installation brings no token of its own (one workspace, set up by hand). Unset and no Slack app configured: Slack pages go to the in-app inbox.",
		secret: true,
	},
	slack_signing_secret: {
		env: "OPSWATCH_SLACK_SIGNING_SECRET",
		schema: z.string().min(16).optional(),
		help: "The OpsWatch Slack app's signing secret: verifies X-Slack-Signature on /api/v1/slack/{events,interactions,commands}. Unset: those answer 401 (a tenant's own app uses /api/v1/slack/t/<tenant>/…).",
		secret: true,
	},
	slack_client_id: {
		env: "OPSWATCH_SLACK_CLIENT_ID",
		schema: z.string().min(1).optional(),
		help: "The OpsWatch Slack app's client id, with its client secret: enables the OAuth install flow (/api/v1/slack/oauth/install).",
	},
	slack_client_secret: {
		env: "OPSWATCH_SLACK_CLIENT_SECRET",
		schema: z.string().min(1).optional(),
		help: "The OpsWatch Slack app's client secret (OAuth install flow).",
		secret: true,
	},
	slack_oauth_url: {
		env: "OPSWATCH_SLACK_OAUTH_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").default("https://slack.com/oauth/v2/authorize"),
		help: "Where the OAuth install flow sends the browser to approve the app (tests point it at a local fake).",
	},
	secret_key: {
		env: "OPSWATCH_SECRET_KEY",
		schema: z
			.string()
			.refine((value) => parseSecretKey(value) !== undefined, "must be 32 bytes: 64 hex characters or base64")
			.optional(),
		help: "Encrypts secrets stored in the database (Slack bot tokens, signing secrets); make one with `openssl rand -hex 32`. Every process of a deployment needs the same key. Unset: <data_dir>/secret.key, made on first start.",
		secret: true,
	},
	slack_api_url: {
		env: "OPSWATCH_SLACK_API_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").default("https://slack.com/api/"),
		help: "Slack Web API base URL (tests point it at a local fake).",
	},
	twilio_account_sid: {
		env: "OPSWATCH_TWILIO_ACCOUNT_SID",
		schema: z
			.string()
			.regex(/^AC[0-9a-fA-F]{32}$/, "must be a Twilio account SID (AC + 32 hex)")
			.optional(),
		help: "Twilio account for phone calls and SMS (with the auth token and from number).",
	},
	twilio_auth_token: {
		env: "OPSWATCH_TWILIO_AUTH_TOKEN",
		schema: z.string().min(16).optional(),
		help: "Twilio auth token: authenticates API calls and verifies X-Twilio-Signature on callbacks.",
		secret: true,
	},
	twilio_from_number: {
		env: "OPSWATCH_TWILIO_FROM_NUMBER",
		schema: z
			.string()
			.regex(/^\+[1-9][0-9]{6,14}$/, "must be an E.164 number, e.g. +4930123456")
			.optional(),
		help: "The Twilio number pages come from; its inbound-SMS webhook is /api/v1/telephony/twilio/sms.",
	},
	twilio_api_url: {
		env: "OPSWATCH_TWILIO_API_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").default("https://api.twilio.com"),
		help: "Twilio REST API base URL (tests point it at a local fake).",
	},
	vonage_application_id: {
		env: "OPSWATCH_VONAGE_APPLICATION_ID",
		schema: z.uuid("must be a Vonage application id (a UUID)").optional(),
		help: "Vonage application for calls and SMS (instead of Twilio), with its private key file, API key and secret, signature secret and from number.",
	},
	vonage_private_key_file: {
		env: "OPSWATCH_VONAGE_PRIVATE_KEY_FILE",
		schema: z.string().min(1).optional(),
		help: "Path of the Vonage application's private key (PEM): signs Voice API requests.",
	},
	vonage_api_key: {
		env: "OPSWATCH_VONAGE_API_KEY",
		schema: z.string().min(1).optional(),
		help: "Vonage account API key (SMS API).",
	},
	vonage_api_secret: {
		env: "OPSWATCH_VONAGE_API_SECRET",
		schema: z.string().min(1).optional(),
		help: "Vonage account API secret (SMS API).",
		secret: true,
	},
	vonage_signature_secret: {
		env: "OPSWATCH_VONAGE_SIGNATURE_SECRET",
		schema: z.string().min(16).optional(),
		help: "Vonage signature secret: verifies the signed JWT on voice callbacks and `sig` on inbound SMS.",
		secret: true,
	},
	vonage_sms_signature_method: {
		env: "OPSWATCH_VONAGE_SMS_SIGNATURE_METHOD",
		schema: z.enum(["md5hash", "sha256"]).default("md5hash"),
		help: "How the Vonage account signs inbound SMS (its dashboard setting).",
	},
	vonage_from_number: {
		env: "OPSWATCH_VONAGE_FROM_NUMBER",
		schema: z
			.string()
			.regex(/^\+?[1-9][0-9]{6,14}$/, "must be an E.164 number, e.g. +4930123456")
			.optional(),
		help: "The Vonage number pages come from; its inbound-SMS webhook is /api/v1/telephony/vonage/sms.",
	},
	vonage_api_url: {
		env: "OPSWATCH_VONAGE_API_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").default("https://api.nexmo.com"),
		help: "Vonage Voice API base URL.",
	},
	vonage_sms_url: {
		env: "OPSWATCH_VONAGE_SMS_URL",
		schema: urlWithScheme(["http:", "https:"], "HTTP(S)").default("https://rest.nexmo.com"),
		help: "Vonage SMS API base URL.",
	},
	vapid_public_key: {
		env: "OPSWATCH_VAPID_PUBLIC_KEY",
		schema: z
			.string()
			.regex(/^[A-Za-z0-9_-]{80,100}$/, "must be a VAPID public key (base64url)")
			.optional(),
		help: "Web Push (VAPID) public key, with the private key and subject; make a pair with `npx web-push generate-vapid-keys`. Unset: push pages go to the inbox.",
	},
	vapid_private_key: {
		env: "OPSWATCH_VAPID_PRIVATE_KEY",
		schema: z
			.string()
			.regex(/^[A-Za-z0-9_-]{40,50}$/, "must be a VAPID private key (base64url)")
			.optional(),
		help: "Web Push (VAPID) private key.",
		secret: true,
	},
	vapid_subject: {
		env: "OPSWATCH_VAPID_SUBJECT",
		schema: z
			.string()
			.regex(/^(mailto:|https:\/\/)/, "must be a mailto: or https:// contact")
			.optional(),
		help: "Who push services can contact about OpsWatch's pushes, e.g. mailto:oncall@example.com.",
	},
	webpush_allow_http: {
		env: "OPSWATCH_WEBPUSH_ALLOW_HTTP",
		schema: z.enum(["true", "false"]).default("false"),
		help: "Accept http:// push endpoints (a local push service in development); browsers' are https.",
	},
} as const;

type Settings = typeof settings;
export type SettingKey = keyof Settings;

const configSchema = z
	.object(
		Object.fromEntries(Object.entries(settings).map(([key, setting]) => [key, setting.schema])) as {
			[K in SettingKey]: Settings[K]["schema"];
		},
	)
	.strict();

type RawConfig = z.infer<typeof configSchema>;

export interface Config {
	readonly host: string;
	readonly port: number;
	readonly dataDir: string;
	readonly databaseUrl: string | undefined;
	readonly databasePoolSize: number;
	readonly redisUrl: string | undefined;
	readonly redisPrefix: string;
	readonly logLevel: RawConfig["log_level"];
	readonly bodyLimitBytes: number;
	readonly maxInFlightBodyBytes: number;
	readonly adminToken: string | undefined;
	readonly dedupWindowMs: number;
	readonly maxAlertsPerRequest: number;
	readonly otlpEndpoint: string | undefined;
	readonly shutdownTimeoutMs: number;
	readonly publicUrl: string | undefined;
	readonly oidc:
		| {
				readonly issuer: string;
				readonly audience: string;
				readonly tenantClaim: string;
				readonly roleClaim: string;
				readonly algorithms: readonly string[];
				readonly clockSkewSeconds: number;
				/** Browser sign-in, when a client id is configured. */
				readonly login: { readonly clientId: string; readonly clientSecret: string | undefined } | undefined;
		  }
		| undefined;
	readonly sessionTtlMinutes: number;
	readonly rateLimits: { readonly perKeyPerMinute: number; readonly perTenantPerMinute: number };
	readonly providerTimeoutMs: number;
	/** Slack is always reachable at apiUrl; what the deployment's own Slack app brings is optional. */
	readonly slack: {
		readonly apiUrl: string;
		readonly botToken: string | undefined;
		readonly signingSecret: string | undefined;
		readonly oauth:
			| { readonly clientId: string; readonly clientSecret: string; readonly authorizeUrl: string }
			| undefined;
	};
	/** OPSWATCH_SECRET_KEY, parsed; undefined means the key file under dataDir. */
	readonly secretKey: Buffer | undefined;
	readonly twilio:
		| {
				readonly accountSid: string;
				readonly authToken: string;
				readonly fromNumber: string;
				readonly apiUrl: string;
		  }
		| undefined;
	readonly vonage:
		| {
				readonly applicationId: string;
				readonly privateKey: string;
				readonly apiKey: string;
				readonly apiSecret: string;
				readonly signatureSecret: string;
				readonly smsSignatureMethod: "md5hash" | "sha256";
				readonly fromNumber: string;
				readonly apiUrl: string;
				readonly smsUrl: string;
		  }
		| undefined;
	readonly webPush:
		| { readonly publicKey: string; readonly privateKey: string; readonly subject: string; readonly allowHttp: boolean }
		| undefined;
}

/** Settings that only work together: all set, or none. */
function group<T>(name: string, values: Record<string, string | undefined>, build: () => T): T | undefined {
	const set = Object.entries(values).filter(([, value]) => value !== undefined);
	if (set.length === 0) return undefined;
	const missing = Object.entries(values)
		.filter(([, value]) => value === undefined)
		.map(([key]) => settings[key as SettingKey].env);
	if (missing.length > 0) {
		throw new ConfigError(`Invalid configuration:\n  ${name} needs ${missing.join(" and ")} as well`);
	}
	return build();
}

/** Raised for any configuration problem; the message names the offending key. */
export class ConfigError extends Error {
	override name = "ConfigError";
}

export interface ConfigSources {
	env: Record<string, string | undefined>;
	/** Path of the YAML file given with `--config` (or OPSWATCH_CONFIG). */
	file?: string | undefined;
}

const envToKey = new Map<string, SettingKey>(
	Object.entries(settings).map(([key, setting]) => [setting.env, key as SettingKey]),
);
/** Variables with our prefix that are not settings but are still ours. */
const otherOwnVariables = new Set(["OPSWATCH_CONFIG"]);

export function loadConfig(sources: ConfigSources): Config {
	const file = sources.file ?? nonEmpty(sources.env.OPSWATCH_CONFIG);
	const raw: Record<string, unknown> = {};
	const origin = new Map<string, string>();

	if (file) {
		for (const [key, value] of Object.entries(readYamlFile(file))) {
			raw[key] = value;
			origin.set(key, `${key} (in ${file})`);
		}
	}

	const unknownVariables: string[] = [];
	for (const [name, value] of Object.entries(sources.env)) {
		if (!name.startsWith("OPSWATCH_") || otherOwnVariables.has(name)) continue;
		const key = envToKey.get(name);
		if (!key) {
			unknownVariables.push(name);
			continue;
		}
		if (nonEmpty(value) === undefined) continue;
		raw[key] = value;
		origin.set(key, name);
	}
	if (unknownVariables.length > 0) {
		throw new ConfigError(
			`Unknown configuration variable${unknownVariables.length > 1 ? "s" : ""}: ${unknownVariables.join(", ")}. ` +
				`Known: ${[...envToKey.keys()].join(", ")}.`,
		);
	}

	const parsed = configSchema.safeParse(raw);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((issue) => {
			if (issue.code === "unrecognized_keys") {
				return issue.keys.map((key) => `${key} (in ${file}): unknown setting`).join("\n  ");
			}
			const key = String(issue.path[0]);
			const name = origin.get(key) ?? settings[key as SettingKey]?.env ?? key;
			return `${name}: ${issue.message}`;
		});
		throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
	}
	const c = parsed.data;
	if (c.twilio_account_sid && c.vonage_application_id) {
		throw new ConfigError(
			"Invalid configuration:\n  Twilio and Vonage are both configured: phone and SMS pages use one provider; unset one",
		);
	}
	return Object.freeze({
		host: c.host,
		port: c.port,
		dataDir: c.data_dir,
		databaseUrl: c.database_url,
		databasePoolSize: c.database_pool_size,
		redisUrl: c.redis_url,
		redisPrefix: c.redis_prefix,
		logLevel: c.log_level,
		bodyLimitBytes: c.body_limit_bytes,
		maxInFlightBodyBytes: c.max_inflight_body_bytes,
		adminToken: c.admin_token,
		dedupWindowMs: c.dedup_window_ms,
		maxAlertsPerRequest: c.max_alerts_per_request,
		otlpEndpoint: c.otlp_endpoint,
		shutdownTimeoutMs: c.shutdown_timeout_ms,
		publicUrl: c.public_url?.replace(/\/+$/, ""),
		rateLimits: { perKeyPerMinute: c.rate_limit_per_key, perTenantPerMinute: c.rate_limit_per_tenant },
		oidc: group("OpenID Connect", { oidc_issuer: c.oidc_issuer, oidc_audience: c.oidc_audience }, () => ({
			issuer: c.oidc_issuer!.replace(/\/+$/, ""),
			audience: c.oidc_audience!,
			tenantClaim: c.oidc_tenant_claim,
			roleClaim: c.oidc_role_claim,
			algorithms: c.oidc_algorithms,
			clockSkewSeconds: c.oidc_clock_skew_seconds,
			login: c.oidc_client_id ? { clientId: c.oidc_client_id, clientSecret: c.oidc_client_secret } : undefined,
		})),
		sessionTtlMinutes: c.session_ttl_minutes,
		providerTimeoutMs: c.provider_timeout_ms,
		slack: {
			apiUrl: c.slack_api_url,
			botToken: c.slack_bot_token,
			signingSecret: c.slack_signing_secret,
			oauth: group(
				"The Slack install flow",
				{ slack_client_id: c.slack_client_id, slack_client_secret: c.slack_client_secret },
				() => ({ clientId: c.slack_client_id!, clientSecret: c.slack_client_secret!, authorizeUrl: c.slack_oauth_url }),
			),
		},
		secretKey: c.secret_key ? parseSecretKey(c.secret_key) : undefined,
		twilio: group(
			"Twilio",
			{
				twilio_account_sid: c.twilio_account_sid,
				twilio_auth_token: c.twilio_auth_token,
				twilio_from_number: c.twilio_from_number,
			},
			() => ({
				accountSid: c.twilio_account_sid!,
				authToken: c.twilio_auth_token!,
				fromNumber: c.twilio_from_number!,
				apiUrl: c.twilio_api_url,
			}),
		),
		vonage: group(
			"Vonage",
			{
				vonage_application_id: c.vonage_application_id,
				vonage_private_key_file: c.vonage_private_key_file,
				vonage_api_key: c.vonage_api_key,
				vonage_api_secret: c.vonage_api_secret,
				vonage_signature_secret: c.vonage_signature_secret,
				vonage_from_number: c.vonage_from_number,
			},
			() => ({
				applicationId: c.vonage_application_id!,
				privateKey: readSecretFile(c.vonage_private_key_file!, settings.vonage_private_key_file.env),
				apiKey: c.vonage_api_key!,
				apiSecret: c.vonage_api_secret!,
				signatureSecret: c.vonage_signature_secret!,
				smsSignatureMethod: c.vonage_sms_signature_method,
				fromNumber: c.vonage_from_number!,
				apiUrl: c.vonage_api_url,
				smsUrl: c.vonage_sms_url,
			}),
		),
		webPush: group(
			"Web Push",
			{
				vapid_public_key: c.vapid_public_key,
				vapid_private_key: c.vapid_private_key,
				vapid_subject: c.vapid_subject,
			},
			() => ({
				publicKey: c.vapid_public_key!,
				privateKey: c.vapid_private_key!,
				subject: c.vapid_subject!,
				allowHttp: c.webpush_allow_http === "true",
			}),
		),
	});
}

/** Reads a key file named by a setting; the error names the setting, never the content. */
function readSecretFile(path: string, setting: string): string {
	try {
		return readFileSync(path, "utf8");
	} catch (error) {
		throw new ConfigError(`${setting}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
	}
}

function readYamlFile(file: string): Record<string, unknown> {
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	} catch (error) {
		throw new ConfigError(`Cannot read config file ${file}: ${(error as Error).message}`);
	}
	let document: unknown;
	try {
		document = parseYaml(text);
	} catch (error) {
		throw new ConfigError(`Config file ${file} is not valid YAML: ${(error as Error).message}`);
	}
	if (document === null || document === undefined) return {};
	if (typeof document !== "object" || Array.isArray(document)) {
		throw new ConfigError(`Config file ${file} must be a mapping of setting names to values.`);
	}
	return document as Record<string, unknown>;
}

function nonEmpty(value: string | undefined): string | undefined {
	return value === undefined || value === "" ? undefined : value;
}

/** The effective configuration, by YAML key, with secrets masked (for `check-config`). */
export function redactedConfig(config: Config): Record<string, unknown> {
	return {
		host: config.host,
		port: config.port,
		data_dir: config.dataDir,
		database_url: redactUrl(config.databaseUrl) ?? null,
		database_pool_size: config.databasePoolSize,
		redis_url: redactUrl(config.redisUrl) ?? null,
		redis_prefix: config.redisPrefix,
		log_level: config.logLevel,
		body_limit_bytes: config.bodyLimitBytes,
		admin_token: config.adminToken ? "<redacted>" : null,
		dedup_window_ms: config.dedupWindowMs,
		max_alerts_per_request: config.maxAlertsPerRequest,
		otlp_endpoint: config.otlpEndpoint ?? null,
		shutdown_timeout_ms: config.shutdownTimeoutMs,
		public_url: config.publicUrl ?? null,
		provider_timeout_ms: config.providerTimeoutMs,
		oidc_issuer: config.oidc?.issuer ?? null,
		oidc_audience: config.oidc?.audience ?? null,
		oidc_tenant_claim: config.oidc?.tenantClaim ?? null,
		oidc_role_claim: config.oidc?.roleClaim ?? null,
		oidc_algorithms: config.oidc?.algorithms.join(",") ?? null,
		oidc_clock_skew_seconds: config.oidc?.clockSkewSeconds ?? null,
		oidc_client_id: config.oidc?.login?.clientId ?? null,
		oidc_client_secret: config.oidc?.login?.clientSecret ? "<redacted>" : null,
		session_ttl_minutes: config.sessionTtlMinutes,
		rate_limit_per_key: config.rateLimits.perKeyPerMinute,
		rate_limit_per_tenant: config.rateLimits.perTenantPerMinute,
		slack_bot_token: config.slack.botToken ? "<redacted>" : null,
		slack_api_url: config.slack.apiUrl,
		slack_signing_secret: config.slack.signingSecret ? "<redacted>" : null,
		slack_client_id: config.slack.oauth?.clientId ?? null,
		slack_client_secret: config.slack.oauth ? "<redacted>" : null,
		slack_oauth_url: config.slack.oauth?.authorizeUrl ?? null,
		secret_key: config.secretKey ? "<redacted>" : null,
		twilio_account_sid: config.twilio?.accountSid ?? null,
		twilio_auth_token: config.twilio ? "<redacted>" : null,
		twilio_from_number: config.twilio ? "<redacted>" : null,
		twilio_api_url: config.twilio?.apiUrl ?? null,
		vonage_application_id: config.vonage?.applicationId ?? null,
		vonage_private_key_file: config.vonage ? "<redacted>" : null,
		vonage_api_key: config.vonage?.apiKey ?? null,
		vonage_api_secret: config.vonage ? "<redacted>" : null,
		vonage_signature_secret: config.vonage ? "<redacted>" : null,
		vonage_sms_signature_method: config.vonage?.smsSignatureMethod ?? null,
		vonage_from_number: config.vonage ? "<redacted>" : null,
		vonage_api_url: config.vonage?.apiUrl ?? null,
		vonage_sms_url: config.vonage?.smsUrl ?? null,
		vapid_public_key: config.webPush?.publicKey ?? null,
		vapid_private_key: config.webPush ? "<redacted>" : null,
		vapid_subject: config.webPush?.subject ?? null,
		webpush_allow_http: config.webPush?.allowHttp ?? false,
	};
}

/** Masks the password (and a lone user-as-token) of a connection URL. */
export function redactUrl(value: string | undefined): string | undefined {
	if (!value) return value;
	const url = new URL(value);
	const marker = "REDACTED";
	if (url.password) url.password = marker;
	else if (url.username && url.protocol.startsWith("redis")) url.username = marker;
	// The URL setters would percent-encode "<redacted>"; swap the marker in afterwards so it stays readable.
	return url.toString().replace(`${marker}@`, "<redacted>@");
}
