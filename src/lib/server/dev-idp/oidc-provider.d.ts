/**
 * The small part of oidc-provider 9 (which ships no TypeScript types) that
 * src/lib/server/dev-idp.ts uses. Shapes follow node_modules/oidc-provider/lib.
 */
declare module 'oidc-provider' {
	import type { IncomingMessage, ServerResponse } from 'node:http';

	export interface InteractionResults {
		login?: { accountId: string; remember?: boolean; acr?: string; amr?: string[]; ts?: number };
		consent?: { grantId?: string };
		error?: string;
		error_description?: string;
		[key: string]: unknown;
	}

	export interface Interaction {
		uid: string;
		returnTo: string;
		prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
		params: Record<string, unknown>;
		session?: { accountId: string; uid?: string };
	}

	export interface Grant {
		accountId?: string;
		clientId?: string;
		addOIDCScope(scope: string): void;
		addOIDCClaims(claims: string[]): void;
		save(ttl?: number): Promise<string>;
	}

	export interface GrantConstructor {
		new (properties: { accountId?: string; clientId: string }): Grant;
		find(id: string): Promise<Grant | undefined>;
	}

	export interface Session {
		accountId?: string;
		new?: boolean;
		destroyed?: boolean;
		grantIdFor(clientId: string): string | undefined;
		destroy(): Promise<void>;
	}

	export interface OIDCContext {
		route: string;
		provider: Provider;
		client?: { clientId: string };
		session?: Session;
		result?: InteractionResults;
		requestParamOIDCScopes: Set<string>;
		requestParamClaims: Set<string>;
	}

	export interface KoaContextWithOIDC {
		oidc: OIDCContext;
		method: string;
		path: string;
		type: string;
		status: number;
		body: unknown;
	}

	export interface Account {
		accountId: string;
		claims(use: string, scope: string, claims: unknown, rejected: string[]): Promise<Record<string, unknown>>;
	}

	export interface Adapter {
		upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
		find(id: string): Promise<AdapterPayload | undefined>;
		findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
		findByUid(uid: string): Promise<AdapterPayload | undefined>;
		consume(id: string): Promise<void>;
		destroy(id: string): Promise<void>;
		revokeByGrantId(grantId: string): Promise<void>;
	}

	export interface AdapterPayload {
		grantId?: string;
		userCode?: string;
		uid?: string;
		consumed?: number;
		[key: string]: unknown;
	}

	export interface ClientMetadata {
		client_id: string;
		client_secret?: string;
		redirect_uris?: string[];
		response_types?: string[];
		grant_types?: string[];
		token_endpoint_auth_method?: string;
		[key: string]: unknown;
	}

	export interface Configuration {
		adapter?: new (model: string) => Adapter;
		clients?: ClientMetadata[];
		jwks?: { keys: Record<string, unknown>[] };
		cookies?: {
			keys?: string[];
			names?: { session?: string; interaction?: string; resume?: string };
			long?: Record<string, unknown>;
			short?: Record<string, unknown>;
		};
		claims?: Record<string, string[] | null>;
		scopes?: string[];
		responseTypes?: string[];
		routes?: Record<string, string>;
		features?: Record<string, Record<string, unknown>>;
		pkce?: { required?: (ctx: KoaContextWithOIDC, client: unknown) => boolean };
		interactions?: { url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string> };
		findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => Promise<Account | undefined>;
		loadExistingGrant?: (ctx: KoaContextWithOIDC) => Promise<Grant | undefined>;
		clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: unknown) => boolean;
		expiresWithSession?: (ctx: KoaContextWithOIDC, source: unknown) => Promise<boolean>;
		renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: unknown) => Promise<void>;
		ttl?: Record<string, number>;
		[key: string]: unknown;
	}

	export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

	export class Provider {
		constructor(issuer: string, configuration?: Configuration);
		readonly issuer: string;
		readonly Grant: GrantConstructor;
		callback(): (req: IncomingMessage, res: ServerResponse) => void;
		use(middleware: Middleware): this;
		on(event: string, listener: (...args: unknown[]) => void): this;
		interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
		interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
		interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
	}

	export default Provider;
}
