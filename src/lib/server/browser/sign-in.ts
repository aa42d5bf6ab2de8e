import type { ProviderId } from '../core/config';
import { denyAfterProviderRefusal, resolveDeviceLogin, type CodeEntrySource } from '../oauth/device-authorizations';
import { completeSignIn, startSignIn } from './providers';
import { createSession } from './sessions';
import type { Services } from '../core/services';
import { recordSignIn } from './users';

export type SignInStart = { ok: true; url: URL; state: string; codeVerifier: string } | { ok: false };

export function beginSignIn({ config }: Services, providerId: ProviderId): SignInStart {
	const provider = config.providers[providerId];
	if (!provider) return { ok: false };
	return { ok: true, ...startSignIn(config, provider) };
}

export interface CallbackInput {
	providerId: ProviderId;
	query: URLSearchParams;
	expectedState: string | null;
	codeVerifier: string | null;
	/** The device login this browser is in: its cookie's handle, and who this browser is. */
	deviceLogin: { handle: string; source: CodeEntrySource } | null;
	/** Who is already signed in in this browser, if anyone. */
	signedInUserId: number | null;
	now: number;
}

/** Why a sign-in failed: the provider refused it, the provider failed, or it was not this browser's (state). */
export type SignInFailure = 'provider_denied' | 'provider_failed' | 'state';

type Failure = { ok: false; reason: SignInFailure; detail: string };

export type CallbackOutcome = { ok: true; session: { token: string; expiresAt: number } } | Failure;

/**
 * The provider's redirect back, as guard clauses: state → provider error → code →
 * exchange → session. When the provider refused or failed the sign-in this browser
 * started (its own `state`), the device login it serves is denied too, so the waiting
 * CLI hears access_denied instead of waiting to expiry. A callback with a forged or
 * missing `state` decides nothing.
 */
export async function completeCallback(services: Services, input: CallbackInput): Promise<CallbackOutcome> {
	const outcome = await checkCallback(services, input);
	if (!outcome.ok && outcome.reason !== 'state' && input.deviceLogin) {
		const { handle, source } = input.deviceLogin;
		const login = await resolveDeviceLogin(services, handle, source, input.now);
		const reason = outcome.reason === 'provider_denied' ? 'provider_denied' : 'provider_failed';
		if (login.ok) await denyAfterProviderRefusal(services, login.userCode, reason, input.signedInUserId, source.ip, input.now);
	}
	return outcome;
}

async function checkCallback(services: Services, input: CallbackInput): Promise<CallbackOutcome> {
	const state = input.query.get('state');
	if (!state || !input.expectedState || state !== input.expectedState || !input.codeVerifier) {
		return { ok: false, reason: 'state', detail: 'The sign-in could not be matched to this browser: it expired or was started elsewhere.' };
	}
	const provider = services.config.providers[input.providerId];
	if (!provider) return { ok: false, reason: 'provider_failed', detail: 'That sign-in provider is not configured here.' };
	const error = input.query.get('error');
	if (error === 'access_denied') {
		return { ok: false, reason: 'provider_denied', detail: `You cancelled the sign-in at ${provider.name}, or ${provider.name} refused it.` };
	}
	if (error) return { ok: false, reason: 'provider_failed', detail: `${provider.name} reported an error (${error.slice(0, 60)}).` };
	const code = input.query.get('code');
	if (!code) return { ok: false, reason: 'provider_failed', detail: `${provider.name} sent no authorization code.` };
	const signIn = await completeSignIn(services.config, provider, code, input.codeVerifier);
	if (!signIn.ok) return { ok: false, reason: 'provider_failed', detail: `Sign-in failed: ${signIn.reason}.` };
	const user = await recordSignIn(services, signIn.identity, input.now);
	return { ok: true, session: await createSession(services, user.id, input.now) };
}
