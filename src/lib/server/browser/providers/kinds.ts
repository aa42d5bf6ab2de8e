import type { Config } from '../../core/config';
import type { ProviderConfig } from '../../core/providers';
import { completeBuiltInSignIn, startBuiltInSignIn } from './built-in';
import { completeGitHubSignIn, startGitHubSignIn } from './github';
import { issuerFor } from './oidc';
import type { CallbackParams, SignInResult, SignInStart, StartOptions, Upstream } from './upstream';

/** A sign-in at any provider: each kind's start and completion, chosen by its kind. */

export async function startSignInAt(config: Config, provider: ProviderConfig, options: StartOptions): Promise<Upstream<SignInStart>> {
	switch (provider.kind) {
		case 'oidc':
			return issuerFor(provider).startSignIn(config, options);
		case 'github':
			return { ok: true, value: startGitHubSignIn(config, provider, options) };
		default:
			return { ok: true, value: startBuiltInSignIn(config, provider, options) };
	}
}

export function completeSignInAt(config: Config, provider: ProviderConfig, params: CallbackParams): Promise<SignInResult> {
	switch (provider.kind) {
		case 'oidc':
			return issuerFor(provider).completeSignIn(config, params);
		case 'github':
			return completeGitHubSignIn(config, provider, params);
		default:
			return completeBuiltInSignIn(config, provider, params);
	}
}
