/*
 * session.test.js: browser sessions end to end against a real stratusd:
 * a wrong password is refused, logging in gives a Secure HttpOnly
 * SameSite=Strict cookie the page's scripts cannot read, a state-changing
 * request without the CSRF token is refused (from outside and from the page
 * itself), and after logging out the old cookie gets 401.
 */
'use strict';

const t = require('./lib');

t.run(async ({ ctx, page }) => {
	t.plan(19);
	const user = t.env('STRATUS_USER', 'admin'), password = t.env('STRATUS_PASSWORD');

	await t.step('a wrong password is refused with a sentence on the form', async () => {
		await t.login(page, user, password + '-wrong');
		await page.locator('#login-error').waitFor({ state: 'visible' });
		const msg = await page.locator('#login-error').textContent();
		if (!/wrong user name or password/i.test(msg)) throw new Error('message: ' + msg);
	});
	t.ok(!(await t.sessionCookie(ctx)), 'no session cookie after a wrong password');
	await t.shot(page, 'login-refused');

	await t.step('logging in shows the clusters page with the user name', async () => {
		await t.login(page, user, password);
		await page.getByRole('heading', { name: 'Clusters', level: 1 }).waitFor();
		const who = await page.locator('#who-name').textContent();
		if (who !== user) throw new Error("header shows '" + who + "'");
	});
	await t.shot(page, 'clusters');

	const sc = await t.sessionCookie(ctx);
	t.ok(sc, 'the browser holds the session cookie');
	t.ok(sc && sc.cookie.secure && sc.cookie.httpOnly && sc.cookie.sameSite === 'Strict' && sc.cookie.path === '/',
		'the cookie is Secure, HttpOnly, SameSite=Strict, Path=/', sc ? JSON.stringify(sc.cookie) : '');
	t.ok(!(await page.evaluate(() => document.cookie)).includes('stratus_session'),
		"the page's scripts cannot read the session cookie");

	const cookie = sc ? sc.header : '';
	const who = await t.api('GET', '/session', { cookie });
	t.is(who.status, 200, 'GET /api/v1/session with the cookie answers 200');
	const csrf = who.json && who.json.csrf_token;

	let r = await t.api('GET', '/clusters', { cookie });
	t.is(r.status, 200, 'a read with the cookie alone is allowed');

	r = await t.api('POST', '/clusters', { cookie, body: { name: 'csrf-test', template: 'none' } });
	t.is(r.status, 403, 'a POST with the cookie but without X-CSRF-Token is refused (403)');
	t.like(r.json && r.json.error, /CSRF/, 'the refusal says the CSRF token is missing');

	r = await t.api('POST', '/clusters', { cookie, csrf: '0'.repeat(64), body: { name: 'csrf-test', template: 'none' } });
	t.is(r.status, 403, 'a POST with a wrong X-CSRF-Token is refused (403)');

	const inPage = await page.evaluate(async () => {
		const res = await fetch('api/v1/clusters/csrf-test', { method: 'DELETE' });
		return res.status;
	});
	t.is(inPage, 403, 'a DELETE sent by page script without the token is refused too');

	r = await t.api('POST', '/clusters', { cookie, csrf, body: { name: 'csrf-test' } });
	t.ok(r.status !== 403 && r.status !== 401, 'with the right token the request reaches the API (' + r.status + ')',
		r.text);

	/* Password guessing: the sixth try for one name within minutes is refused unread. */
	const guesses = [];
	for (let i = 0; i < 6; i++)
		guesses.push((await t.api('POST', '/session', { body: { username: 'mallory', password: 'guess' + i } })).status);
	t.is(guesses.join(','), '401,401,401,401,401,429', 'after 5 wrong passwords for a name, logging in as it is refused (429)');
	r = await t.api('POST', '/session', { body: { username: user, password: password } });
	t.is(r.status, 200, 'other names can still log in');
	r = await t.api('POST', '/session', { body: { username: 'x\ninfo: forged log line', password: 'p' } });
	t.is(r.status, 400, 'a user name with a newline is refused before it reaches the log');

	await t.step('logging out goes back to the login form', async () => {
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.getByRole('heading', { name: 'Log in to Stratus' }).waitFor();
	});
	await t.shot(page, 'logged-out');

	r = await t.api('GET', '/clusters', { cookie });
	t.is(r.status, 401, 'after logout an API call with the old cookie is refused (401)');
	r = await t.api('POST', '/clusters', { cookie, csrf, body: { name: 'x', template: 'y' } });
	t.is(r.status, 401, 'and so is a POST with the old cookie and its CSRF token');
});
