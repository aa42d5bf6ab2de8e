import { expect, test } from '@playwright/test';
import * as client from 'openid-client';
import { signInAndDecide } from '../support/pages.ts';
import { discover } from '../support/oauth.ts';
import { SERVERS } from '../support/servers.ts';

test('with JavaScript off, a full ORCID login still approves the device', async ({ page }) => {
	const config = await discover(SERVERS.main);
	const authorization = await client.initiateDeviceAuthorization(config, {});
	const tokens = client.pollDeviceAuthorizationGrant(config, authorization);

	await signInAndDecide(page, authorization.user_code, { provider: 'ORCID' });
	await expect(page).toHaveURL(/\/device\/success\?code=[A-Z]{8}$/);

	const granted = await tokens;
	const userinfo = await (await fetch(`${SERVERS.main.origin}/oauth/userinfo`, { headers: { Authorization: `Bearer ${granted.access_token}` } })).json();
	expect(userinfo.sub).toBe('orcid:0000-0002-1825-0097');
});
