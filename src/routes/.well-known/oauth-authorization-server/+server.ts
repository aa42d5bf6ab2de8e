import { authorizationServerMetadata } from '#lib/server/oauth-endpoints.ts';
import { serveSafely } from '#lib/server/http.ts';
import { services } from '#lib/server/services.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = () => serveSafely(() => authorizationServerMetadata(services()));
