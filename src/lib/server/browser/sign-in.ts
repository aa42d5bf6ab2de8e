import { log } from '../core/log';
import { countSignIn } from '../core/metrics';
import { findProvider, type ProviderConfig } from '../core/providers';
import type { Config } from '../core/config';
import { denyAfterProviderRefusal, resolveDeviceLogin, type CodeEntrySource } from '../oauth/device-authorizations';
import { completeSignInAt, startSignInAt } from './providers/kinds';
import type { SignInProblem, StartOptions } from './providers/upstream';
import { createSession } from './sessions';
import type { Services } from '../core/services';
import { recordSignIn } from './users';

/** Why a sign-in failed: the provider refused it, the provider failed, or it was not this browser's (state). */
export type SignInFailure = 'provider_denied' | 'provider_failed' | 'state';

/** What went wrong at the provider, for the page: a problem of the sign-in itself, or an `error` the provider sent back. */
export type FailureProblem = SignInProblem | 'provider_error';

/** How a sign-in ended, as doorcode_sign_ins_total counts it: ok, else the problem at the provider, else why it failed. */
type SignInOutcome = 'ok' | FailureProblem | SignInFailure;

export interface Failure {
	ok: false;
	reason: SignInFailure;
	problem: FailureProblem | null;
	/** For the log line: what went wrong, never a token or a secret. */
	detail: string;
}

/** What the browser keeps in its sign-in cookies between the start and the callback. */
export interface SignInSecrets {
	provider: string;
	state: string;
	codeVerifier: string;
	nonce: string | null;
}

export type SignInBegin = { ok: true; url: URL; secrets: SignInSecrets } | { ok: false; reason: 'unknown' } | Failure;

/** The query flag that /login and a provider's start carry after "Sign in with another account". */
const ANOTHER_ACCOUNT = 'another_account';

/**
 * /login after "Sign in with another account": the person comes back to `returnTo` once
 * signed in, and the provider they pick is asked to let them choose the account.
 */
export function anotherAccountLogin(returnTo: string): string {
	return `/login?${new URLSearchParams({ return_to: returnTo, [ANOTHER_ACCOUNT]: '1' })}`;
}

/**
 * What /login or a provider's start was asked for. The flag can only add the provider's
 * own step of choosing an account (it signs no one in or out, and the `prompt` it leads to
 * is fixed by the provider's kind), so a link from another site that carries it does no harm.
 */
export function startOptionsOf(query: URLSearchParams): StartOptions {
	return { anotherAccount: query.get(ANOTHER_ACCOUNT) === '1' };
}

/** The link on /login that starts a sign-in at a provider, carrying where to come back to and what was asked for. */
export function signInStartPath(providerId: string, returnTo: string, { anotherAccount }: StartOptions): string {
	const query = new URLSearchParams({ return_to: returnTo });
	if (anotherAccount) query.set(ANOTHER_ACCOUNT, '1');
	return `/login/${providerId}?${query}`;
}

/** Where to send the browser to sign in at a provider; an OpenID issuer is asked for its endpoints first. */
export async function beginSignIn({ config }: Services, providerId: string, options: StartOptions): Promise<SignInBegin> {
	const provider = findProvider(config.providers, providerId);
	if (!provider) return { ok: false, reason: 'unknown' };
	const start = await startSignInAt(config, provider, options);
	if (!start.ok) {
		const failed: Failure = { ok: false, reason: 'provider_failed', problem: start.problem, detail: start.detail };
		logFailure(providerId, failed);
		countSignIn(provider.id, outcomeOf(failed));
		return failed;
	}
	const { url, state, codeVerifier, nonce } = start.value;
	return { ok: true, url, secrets: { provider: provider.id, state, codeVerifier, nonce } };
}

export interface CallbackInput {
	providerId: string;
	query: URLSearchParams;
	/** What the browser kept in its sign-in cookies, if it started a sign-in. */
	started: { [key in keyof SignInSecrets]: string | null };
	/** The device login this browser is in: its cookie's handle, and who this browser is. */
	deviceLogin: { handle: string; source: CodeEntrySource } | null;
	/** Who is already signed in in this browser, if anyone. */
	signedInUserId: number | null;
	now: number;
}

export type CallbackOutcome = { ok: true; session: { token: string; expiresAt: number } } | Failure;

/**
 * The provider's redirect back, as guard clauses: state → provider error → code →
 * exchange → session. When the provider refused or failed the sign-in this browser
 * started (its own `state`), the device login it serves is denied too, so the waiting
 * CLI hears access_denied instead of waiting to expiry. A callback with a forged or
 * missing `state` decides nothing. Every failure is one log line naming the provider, and
 * every outcome at a configured provider is counted in the metrics.
 */
export async function completeCallback(services: Services, input: CallbackInput): Promise<CallbackOutcome> {
	const provider = findProvider(services.config.providers, input.providerId);
	const outcome = await checkCallback(services, provider, input);
	// Counted under a configured provider's id only: the callback's path is the sender's to choose.
	if (provider) countSignIn(provider.id, outcome.ok ? 'ok' : outcomeOf(outcome));
	if (outcome.ok) return outcome;
	logFailure(input.providerId, outcome);
	if (outcome.reason !== 'state' && input.deviceLogin) {
		const { handle, source } = input.deviceLogin;
		const login = await resolveDeviceLogin(services, handle, source, input.now);
		if (login.ok) await denyAfterProviderRefusal(services, login.userCode, outcome.reason, input.signedInUserId, source.ip, input.now);
	}
	return outcome;
}

async function checkCallback(services: Services, provider: ProviderConfig | undefined, input: CallbackInput): Promise<CallbackOutcome> {
	const { started } = input;
	const state = input.query.get('state');
	if (!state || state !== started.state || started.provider !== input.providerId || !started.codeVerifier) {
		return failed('state', null, 'the callback does not match a sign-in this browser started (state)');
	}
	if (!provider) return failed('provider_failed', null, 'the provider is not configured here');
	const error = input.query.get('error');
	if (error === 'access_denied') return failed('provider_denied', null, 'the person cancelled, or the provider refused (access_denied)');
	if (error) return failed('provider_failed', 'provider_error', `the provider sent back error ${error.slice(0, 60)}`);
	const code = input.query.get('code');
	if (!code) return failed('provider_failed', 'provider_error', 'the provider sent back no authorization code');
	const signIn = await completeSignInAt(services.config, provider, { code, codeVerifier: started.codeVerifier, nonce: started.nonce });
	if (!signIn.ok) return failed('provider_failed', signIn.problem, signIn.detail);
	const user = await recordSignIn(services, signIn.identity, input.now);
	return { ok: true, session: await createSession(services, user.id, input.now) };
}

function failed(reason: SignInFailure, problem: FailureProblem | null, detail: string): Failure {
	return { ok: false, reason, problem, detail };
}

const outcomeOf = ({ problem, reason }: Failure): SignInOutcome => problem ?? reason;

function logFailure(providerId: string, { reason, problem, detail }: Failure): void {
	log({ level: reason === 'provider_failed' ? 'warn' : 'info', msg: 'sign-in failed', provider: providerId, reason, problem, detail });
}

/** Where a failed sign-in lands: the device error page during a device login, else the login page, with words for what happened. */
export function failurePage(providerId: string, { reason, problem }: Failure, inDeviceLogin: boolean): string {
	const query = new URLSearchParams(inDeviceLogin ? { reason } : { error: reason });
	if (problem) query.set('provider', providerId);
	if (problem) query.set('problem', problem);
	return `${inDeviceLogin ? '/device/error' : '/login'}?${query}`;
}

const PROBLEMS: Record<FailureProblem, (name: string) => string> = {
	unreachable: (name) => `${name} cannot be reached right now.`,
	refused: (name) => `${name} did not accept the sign-in: the code it sent back was refused.`,
	invalid_token: (name) => `${name}'s answer could not be verified, so doorcode did not trust it.`,
	profile: (name) => `${name} did not say who you are: its API answered with an error.`,
	provider_error: (name) => `${name} reported an error.`
};

/** The sentence that says what happened at a provider, from a failure page's query; null when it names no known provider and problem. */
export function describeFailure(config: Config, query: URLSearchParams): string | null {
	const provider = findProvider(config.providers, query.get('provider') ?? '');
	const problem = query.get('problem') ?? '';
	if (!provider || !Object.hasOwn(PROBLEMS, problem)) return null;
	return PROBLEMS[problem as FailureProblem](provider.name);
}
