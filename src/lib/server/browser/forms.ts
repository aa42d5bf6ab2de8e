import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import { requestContext } from '../oauth/http';

/** What every page's form action needs: the form's fields, and who acts. */

/** The signed-in person acting through a page, for decisions and the audit log. */
export function actorOf(event: RequestEvent, user: { id: number; sub: string }) {
	return { userId: user.id, sub: user.sub, ip: requestContext(event).ip };
}

/**
 * The admin acting on an admin page: a signed-out visitor is sent to sign in and back to
 * `returnTo`; a signed-in non-admin gets a 403 that says how to become one.
 */
export function adminOf(event: RequestEvent, returnTo: string) {
	const user = event.locals.user;
	if (!user) redirect(303, `/login?return_to=${encodeURIComponent(returnTo)}`);
	if (!user.isAdmin) error(403, `This page is for doorcode admins. You are signed in as ${user.sub}; an operator can add you to ADMIN_SUBJECTS.`);
	return actorOf(event, user);
}

/**
 * The body of a form post. A body no form parser can read (text/plain, broken
 * multipart) is the sender's mistake: a 400 page that says so, not a 500.
 */
export async function readForm(request: Request): Promise<FormData> {
	try {
		return await request.formData();
	} catch (caught) {
		if ((caught as { status?: unknown }).status === 413) error(413, 'That form is too large to be read.');
		error(400, 'That form could not be read. Send it from the page itself.');
	}
}
