import { loadConfig, type Config } from '../../src/lib/server/core/config';
import type { ProviderConfig } from '../../src/lib/server/core/providers';

/** The configuration doorcode would load with this one PROVIDERS_FILE entry (beside the local identity provider), and that provider. */
export function configWithProvider<T extends ProviderConfig>(origin: string, entry: Record<string, unknown>): { config: Config; provider: T } {
	const loaded = loadConfig({ ORIGIN: origin, DEV_IDP: '1', PROVIDERS_FILE: 'providers.json' }, () => JSON.stringify({ providers: [entry] }));
	if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
	return { config: loaded.config, provider: loaded.config.providers[0] as T };
}
