import { expect, test } from '@playwright/test';
import { loopbackRedirect } from '../support/loopback.ts';
import { authorizationRequest, form } from '../support/oauth.ts';
import { authorizeInBrowser } from '../support/pages.ts';
import { SERVERS } from '../support/servers.ts';

test('with JavaScript off, signing in and approving on the consent page sends the code to the loopback redirect, and it gives tokens', async ({ page }) => {
	const server = SERVERS.main;
	const callback = await loopbackRedirect();
	try {
		const { verifier, query } = authorizationRequest(callback.redirectUri, 'no-js');
		await authorizeInBrowser(page, `/oauth/authorize?${query}`, { clientName: 'Demo CLI' });
		const answer = await callback.answered;
		await expect(page).toHaveURL(answer.href);
		expect(answer.searchParams.get('state')).toBe('no-js');
		const tokens = await form(server, '/oauth/token', {
			grant_type: 'authorization_code',
			code: answer.searchParams.get('code')!,
			redirect_uri: callback.redirectUri,
			code_verifier: verifier,
			client_id: 'demo-cli'
		});
		expect(tokens).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'read write', sub: 'orcid:0000-0002-1825-0097' } });
	} finally {
		callback.close();
	}
});
