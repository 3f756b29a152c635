import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import { AppError } from "../../platform/errors.ts";
import type { Logger } from "../../platform/log.ts";
import type { RateLimitDecision, RateLimiter } from "../../platform/ratelimit/index.ts";
import {
	type AuthResult,
	actorOf,
	type Permission,
	type Principal,
	type RouteAuth,
	roleHasPermission,
	SESSION_COOKIE,
	type Sessions,
	secretsEqual,
	type TenantApi,
} from "../../tenant/index.ts";

declare module "fastify" {
	interface FastifyContextConfig {
		/** What the route requires. Every route must declare it; registration fails otherwise. */
		auth?: RouteAuth;
	}
	interface FastifyInstance {
		/** Every route with what it requires, for the permission test and for humans. */
		routeCatalog: RouteCatalogEntry[];
	}
	interface FastifyRequest {
		/** Set by the auth hook on every route that is not public. */
		principal: Principal | null;
	}
}

export interface RouteCatalogEntry {
	method: string;
	url: string;
	auth: RouteAuth;
}

/** Routes served by plugins we don't write (the API docs page): public by nature. */
const publicPrefixes = ["/api/docs"];

/**
 * Accepts `X-API-Key: <key>` or `Authorization: Bearer <key>`; the latter because Alertmanager
 * 0.25's webhook config can set no other header.
 */
export function credentialFrom(request: FastifyRequest): string | undefined {
	const header = request.headers["x-api-key"];
	const apiKey = Array.isArray(header) ? header[0] : header;
	if (apiKey) return apiKey.trim();
	const authorization = request.headers.authorization;
	const match = authorization && /^Bearer\s+(\S+)\s*$/i.exec(authorization);
	return match ? match[1] : undefined;
}

/** Budgets per minute, drawn from a shared limiter (Redis, or this process's memory). */
export interface RateLimits {
	limiter: RateLimiter;
	perKeyPerMinute: number;
	perTenantPerMinute: number;
	onError(error: unknown): void;
}

const MINUTE_MS = 60_000;

export function registerAuth(
	app: FastifyInstance,
	tenants: Pick<TenantApi, "authenticate" | "authenticateKnown" | "authenticateIdentity" | "recordRefusal">,
	rateLimits?: RateLimits,
	sessions?: Pick<Sessions, "get">,
): void {
	/**
	 * Draws one request from the key's and the tenant's budgets; over either, 429 with Retry-After.
	 * A limiter that fails (Redis down) lets the request through: refusing alerts would be worse.
	 * Returns undefined, with no promise made, when both budgets allow it from this process's leases:
	 * nearly every request of a storm.
	 */
	function withinBudget(principal: Extract<Principal, { type: "api_key" | "user" }>): Promise<void> | undefined {
		if (!rateLimits) return undefined;
		const { limiter, perKeyPerMinute, perTenantPerMinute } = rateLimits;
		const keyName = `${principal.type}:${principal.id}`;
		const tenantName = `tenant:${principal.tenant.id}`;
		const key = limiter.consumeNow(keyName, perKeyPerMinute, MINUTE_MS);
		const tenant = key && limiter.consumeNow(tenantName, perTenantPerMinute, MINUTE_MS);
		if (tenant) return undefined;
		return drawBudgets(principal, rateLimits, key ?? limiter.consume(keyName, perKeyPerMinute, MINUTE_MS), tenantName);
	}

	/** {@link withinBudget} when a budget needs its store: the key's decision, made or pending, and the tenant's. */
	async function drawBudgets(
		principal: Extract<Principal, { type: "api_key" | "user" }>,
		{ limiter, perKeyPerMinute, perTenantPerMinute, onError }: RateLimits,
		keyDecision: RateLimitDecision | Promise<RateLimitDecision>,
		tenantName: string,
	): Promise<void> {
		let decisions: RateLimitDecision[];
		try {
			// A limiter on Redis gives up on a Redis that does not answer (platform/ratelimit/redis.ts).
			decisions = await Promise.all([keyDecision, limiter.consume(tenantName, perTenantPerMinute, MINUTE_MS)]);
		} catch (error) {
			onError(error);
			return;
		}
		const [key, tenant] = decisions as [RateLimitDecision, RateLimitDecision];
		const refused = !key.allowed
			? { what: principal.type === "api_key" ? "this API key" : "this user", limit: perKeyPerMinute, decision: key }
			: !tenant.allowed
				? { what: `tenant ${principal.tenant.slug}`, limit: perTenantPerMinute, decision: tenant }
				: undefined;
		if (!refused) return;
		throw new AppError(
			"rate_limited",
			"rate_limited",
			`Too many requests for ${refused.what} (at most ${refused.limit} per minute): retry later`,
			{ retryAfterSeconds: Math.max(1, Math.ceil(refused.decision.retryAfterMs / 1000)) },
		);
	}

	app.decorateRequest("principal", null);
	const catalog: RouteCatalogEntry[] = [];
	app.decorate("routeCatalog", catalog);

	app.addHook("onRoute", (route) => {
		if (publicPrefixes.some((prefix) => route.url.startsWith(prefix))) {
			route.config = { ...route.config, auth: "public" };
		}
		const auth = route.config?.auth;
		if (!auth) {
			throw new Error(
				`Route ${route.method} ${route.url} declares no auth: set config.auth to "public", "platform_admin" or { permission }`,
			);
		}
		for (const method of [route.method].flat()) catalog.push({ method, url: route.url, auth });
	});

	/** Who a signed-in browser is: its session (CSRF-checked for changes), resolved afresh each request. */
	async function fromSession(request: FastifyRequest, sessionId: string): Promise<AuthResult> {
		const session = await sessions!.get(sessionId);
		if (!session) {
			throw new AppError(
				"unauthenticated",
				"auth.session_ended",
				"Your session has ended (signed out or expired): sign in again at /api/v1/auth/login",
			);
		}
		const changes = !["GET", "HEAD", "OPTIONS"].includes(request.method);
		const sent = request.headers["x-csrf-token"];
		if (changes && (typeof sent !== "string" || !secretsEqual(sent, session.csrfToken))) {
			throw new AppError(
				"forbidden",
				"auth.csrf_token_missing",
				"A change made with the session cookie needs the X-CSRF-Token header (the value of the opswatch_csrf cookie)",
			);
		}
		return tenants.authenticateIdentity(session.identity);
	}

	/**
	 * Who the request is and whether it may do what its route does. Returns a promise only when it
	 * must wait: a credential this process does not know yet, a session, a budget to draw from the
	 * store, a refusal to audit. A known API key within its budget, nearly every request of an alert
	 * storm, is decided at once.
	 */
	function authorize(
		request: FastifyRequest,
		auth: Exclude<RouteAuth, "public">,
		credential: string | undefined,
	): Promise<void> | undefined {
		const known = credential === undefined ? undefined : tenants.authenticateKnown(credential);
		return known ? admit(request, auth, known) : authenticateThenAdmit(request, auth, credential);
	}

	async function authenticateThenAdmit(
		request: FastifyRequest,
		auth: Exclude<RouteAuth, "public">,
		credential: string | undefined,
	): Promise<void> {
		const sessionId = credential ? undefined : request.cookies?.[SESSION_COOKIE];
		if (!credential && !(sessions && sessionId)) {
			throw new AppError(
				"unauthenticated",
				"auth.missing_credential",
				"Authentication required: send an API key in X-API-Key, or an API key or your identity provider's token as Authorization: Bearer",
			);
		}
		const result = credential ? await tenants.authenticate(credential) : await fromSession(request, sessionId!);
		await admit(request, auth, result);
	}

	/** Lets an authenticated caller in if its role allows the route and its budgets have room. */
	function admit(
		request: FastifyRequest,
		auth: Exclude<RouteAuth, "public">,
		result: AuthResult,
	): Promise<void> | undefined {
		if (!result.ok) throw new AppError("unauthenticated", result.code, result.message);
		const principal = result.principal;

		if (auth === "platform_admin") {
			if (principal.type !== "platform_admin") {
				throw new AppError("forbidden", "auth.platform_admin_required", "This endpoint needs the platform-admin token");
			}
		} else if (principal.type === "platform_admin") {
			throw new AppError(
				"forbidden",
				"auth.tenant_credential_required",
				"The platform-admin token does not act inside a tenant: use an API key of the tenant",
			);
		} else if (principal.type === "api_key" && principal.integration && auth.permission !== "alerts.ingest") {
			throw new AppError(
				"forbidden",
				"auth.integration_key",
				`This key only sends alerts to the ${principal.integration} webhook`,
			);
		} else if (!roleHasPermission(principal.role, auth.permission)) {
			return refuse(request, principal, auth.permission);
		}
		const drawing = principal.type === "platform_admin" ? undefined : withinBudget(principal);
		if (drawing) return drawing.then(() => enter(request, principal));
		enter(request, principal);
		return undefined;
	}

	/** A role without the route's permission: audited (a readonly member trying to acknowledge is worth knowing about), then 403. */
	async function refuse(
		request: FastifyRequest,
		principal: Extract<Principal, { type: "api_key" | "user" }>,
		permission: Permission,
	): Promise<never> {
		await tenants
			.recordRefusal(principal.tenant, actorOf(request, principal), {
				action: "auth.permission_denied",
				targetType: "route",
				targetId: `${request.method} ${request.routeOptions.url}`,
				after: { permission, role: principal.role },
			})
			.catch((error) => request.log.error({ err: error }, "could not audit a refusal"));
		throw new AppError(
			"forbidden",
			"auth.permission_denied",
			`Role ${principal.role} lacks the permission ${permission}`,
		);
	}

	function enter(request: FastifyRequest, principal: Principal): void {
		request.principal = principal;
		// The request's own child logger, extended in place: a further child per request costs measurably on ingest.
		(request.log as FastifyBaseLogger & Pick<Logger, "setBindings">).setBindings(
			principal.type === "platform_admin"
				? { user_id: `platform_admin:${principal.id}` }
				: {
						tenant_id: principal.tenant.id,
						tenant: principal.tenant.slug,
						user_id: `${principal.type}:${principal.id}`,
					},
		);
	}

	/** Ends a `done`-style hook with `work`: at once when it needs no wait, else when its promise settles. */
	function settle(work: () => Promise<void> | undefined, done: (error?: Error) => void): void {
		let waiting: Promise<void> | undefined;
		try {
			waiting = work();
		} catch (error) {
			done(error as Error);
			return;
		}
		if (waiting) waiting.then(() => done(), done);
		else done();
	}

	// onRequest: refuse before the body is even read, so an unauthenticated sender can't make us parse it.
	// With `done`, not async, as the hook below: a known key is let in without a promise.
	app.addHook("onRequest", (request, _reply, done) => {
		const auth = request.routeOptions.config.auth;
		if (auth === undefined || auth === "public") return done(); // undefined: no route matched (404)
		const inPath =
			typeof auth === "object" && auth.credentialInPath
				? (request.params as Record<string, string | undefined>)[auth.credentialInPath]
				: undefined;
		const credential = credentialFrom(request) ?? inPath;
		// A route that takes its key from the body authenticates once the body is parsed (below).
		if (!credential && typeof auth === "object" && auth.credentialInBody) return done();
		settle(() => authorize(request, auth, credential), done);
	});

	// Before validation, so a sender without a valid key learns that, not what is wrong with its body.
	// With `done`, not async: nearly every request passes straight through, and a promise each is waste.
	app.addHook("preValidation", (request, _reply, done) => {
		const auth = request.routeOptions.config.auth;
		if (request.principal || typeof auth !== "object" || !auth.credentialInBody) return done();
		const value = (request.body as Record<string, unknown> | null)?.[auth.credentialInBody];
		settle(() => authorize(request, auth, typeof value === "string" && value.length > 0 ? value : undefined), done);
	});
}
