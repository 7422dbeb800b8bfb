/*
 * tests/web/lib.js: what every browser test shares: TAP output, Debian's
 * Chromium driven by playwright-core (never a downloaded browser), a fresh
 * profile per run, screenshots into the test's output directory, and a small
 * HTTPS client for checking the API directly.
 *
 * Settings come from the environment the .t wrapper sets:
 *   STRATUS_URL       https://127.0.0.1:PORT/ of the stratusd under test
 *   STRATUS_USER, STRATUS_PASSWORD   a user of that stratusd
 *   WEB_OUT           where screenshots go
 *   WEB_PROFILE       a fresh directory for Chromium's profile
 */
'use strict';

const fs = require('fs');
const path = require('path');
const https = require('https');
const { chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core'));

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const URL_ = env('STRATUS_URL', 'https://127.0.0.1:8443/');
const OUT = env('WEB_OUT', path.join(process.cwd(), 'web-out'));
fs.mkdirSync(OUT, { recursive: true });

/* ---- TAP ---- */
let count = 0, failed = 0, planned = null;
function plan(n) { planned = n; console.log('1..' + n); }
function diag(msg) { String(msg).split('\n').forEach((l) => console.log('# ' + l)); }
function result(good, desc, why) {
	count++;
	console.log((good ? 'ok ' : 'not ok ') + count + ' - ' + desc);
	if (!good) { failed++; if (why) diag(why); }
	return good;
}
function ok(cond, desc, why) { return result(!!cond, desc, why); }
function is(got, want, desc) {
	return result(got === want, desc, "got:      '" + got + "'\nexpected: '" + want + "'");
}
function like(got, re, desc) {
	return result(re.test(String(got)), desc, "got:      '" + got + "'\nexpected to match: " + re);
}
/* Run an async step; a throw is a failed point with the error shown. */
async function step(desc, fn) {
	try {
		const r = await fn();
		if (r === false) return result(false, desc);
		return result(true, desc);
	} catch (e) {
		return result(false, desc, e && e.stack ? e.stack : String(e));
	}
}

/* ---- the browser ---- */
async function browser() {
	/* A profile of the test's own (under its $T, removed with it); a fresh one only if none is given. */
	const profile = process.env.WEB_PROFILE || fs.mkdtempSync(path.join(require('os').tmpdir(), 'stratus-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		/* The manager's certificate is self-signed, made for this run. */
		ignoreHTTPSErrors: true,
		viewport: { width: 1366, height: 900 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			'--disable-features=Translate,MediaRouter,OptimizationHints', '--no-default-browser-check'],
		timeout: 30000,
	});
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(15000);
	/* Browser-side errors are test diagnostics: a page that throws is a bug. */
	page.on('pageerror', (e) => diag('page error: ' + e.message));
	page.on('console', (m) => { if (m.type() === 'error') diag('console: ' + m.text()); });
	page.on('requestfailed', (r) => diag('request failed: ' + r.method() + ' ' + r.url() + ': ' +
		(r.failure() ? r.failure().errorText : '?')));
	return { ctx, page };
}

async function shot(page, name) {
	const file = path.join(OUT, name + '.png');
	await page.screenshot({ path: file, fullPage: true });
	diag('screenshot: ' + file);
	return file;
}

/* Log in through the form; resolves when the clusters page shows. */
async function login(page, user, password) {
	await page.goto(URL_ + '#/login');
	await page.getByLabel('User name').fill(user);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in' }).click();
}

/* ---- the API, straight (not through the page) ---- */
function api(method, p, { body, cookie, csrf, token, contentType } = {}) {
	const u = new URL('api/v1' + p, URL_);
	const headers = { Accept: 'application/json' };
	let data = null;
	if (body !== undefined) {
		data = typeof body === 'string' ? body : JSON.stringify(body);
		headers['Content-Type'] = contentType || 'application/json';
		headers['Content-Length'] = Buffer.byteLength(data);
	}
	if (cookie) headers.Cookie = cookie;
	if (csrf) headers['X-CSRF-Token'] = csrf;
	if (token) headers.Authorization = 'Bearer ' + token;
	return new Promise((resolve, reject) => {
		const req = https.request(u, { method, headers, rejectUnauthorized: false, timeout: 15000 }, (res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (c) => { text += c; });
			res.on('end', () => {
				let json = null;
				try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
				resolve({ status: res.statusCode, headers: res.headers, text, json });
			});
		});
		req.on('timeout', () => req.destroy(new Error('timed out: ' + method + ' ' + u)));
		req.on('error', reject);
		if (data) req.write(data);
		req.end();
	});
}

/* The session cookie the browser holds, as a Cookie: header value. */
async function sessionCookie(ctx) {
	const cs = await ctx.cookies(URL_);
	const c = cs.find((x) => x.name === '__Host-stratus_session');
	return c ? { header: c.name + '=' + c.value, cookie: c } : null;
}

function done() {
	if (planned === null) console.log('1..' + count);
	else if (planned !== count) { diag('planned ' + planned + ' tests but ran ' + count); failed++; }
	return failed ? 1 : 0;
}

/* Run main(t) with the browser, always closing it; exit code for prove. */
async function run(main) {
	let b = null, code = 1;
	try {
		b = await browser();
		await main(b);
	} catch (e) {
		result(false, 'test script ran to its end', e && e.stack ? e.stack : String(e));
	} finally {
		if (b) {
			try { await shot(b.page, 'last'); } catch (e) { /* the page may be gone */ }
			await b.ctx.close().catch(() => {});
		}
		code = done();
	}
	process.exit(code);
}

module.exports = { URL: URL_, OUT, env, plan, diag, ok, is, like, step, shot, login, api, sessionCookie, run };
