/** The tenant domain: tenants, API keys, roles and permissions, audit. Other code imports only this. */

export { type AuditEntry, type AuditRecord, actorName, memberIdOf, writeAudit } from "./audit.ts";
export { secretsEqual } from "./credentials.ts";
export {
	actorOf,
	loginRoutes,
	memberRoutes,
	passwordRoutes,
	selfServiceRoutes,
	signedInMember,
	type TenantRoutesOptions,
	tenantPrincipal,
	tenantRoutes,
} from "./handler.ts";
export { createLocalLogin, type LocalLogin } from "./local-login.ts";
export { createLogin, type Login } from "./login.ts";
export {
	type ContactMethod,
	contactMethodTypes,
	type Member,
	type MemberInput,
	type NotificationRule,
	ruleChannels,
} from "./member-types.ts";
export { createMemberService, type MemberApi, type MemberServiceDeps } from "./members.ts";
export { createOidcVerifier, type OidcVerifier } from "./oidc.ts";
export { generatePassword } from "./passwords.ts";
export { type Permission, permissions, permissionTable, type Role, roleHasPermission, roles } from "./permissions.ts";
export { createTenantService, schemaForSlug, type TenantApi, type TenantServiceDeps } from "./service.ts";
export {
	CSRF_COOKIE,
	cacheSessionStore,
	createSessions,
	databaseSessionStore,
	SESSION_COOKIE,
	type Sessions,
} from "./sessions.ts";
export {
	type Actor,
	type ApiKey,
	type AuthResult,
	type Principal,
	type RouteAuth,
	type Tenant,
	type TenantRef,
	tenantSlug,
} from "./types.ts";
