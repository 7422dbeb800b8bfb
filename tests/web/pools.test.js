/*
 * pools.test.js: the Pools page against real sshd "machines" (gui_pools.t):
 * make a pool, register a host through the form (its private key as a file),
 * see its host-key fingerprint (the one ssh-keygen -l gives for the machine's
 * key), state, reachability and facts; a machine holding an old install
 * registers unclean, and Clear cleans it over ssh; Remove forgets a host; a
 * key the machine refuses is an error in words; the new-cluster form offers
 * the pools for a HostPool parameter.  No page and no API answer ever holds a
 * private key.
 */
'use strict';

const fs = require('fs');
const t = require('./lib');

t.run(async ({ page }) => {
	t.plan(17);
	const user = t.env('STRATUS_USER', 'admin'), password = t.env('STRATUS_PASSWORD');
	const token = t.env('WEB_TOKEN');
	const pool = t.env('WEB_POOL');
	const m1 = t.env('WEB_M1'), m2 = t.env('WEB_M2');
	const fp1 = t.env('WEB_FP1'), fp2 = t.env('WEB_FP2');
	const keyText = fs.readFileSync(t.env('WEB_POOLKEY'), 'utf8');
	const keyBody = keyText.split('\n').filter((l) => l && !/-----/.test(l))[1];
	const cspViolations = [];
	page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
	/* Clear and Remove ask first: say yes. */
	page.on('dialog', (d) => d.accept());

	await t.login(page, user, password);
	await page.getByRole('heading', { name: 'Clusters', level: 1 }).waitFor();

	await t.step('the Pools page is in the main navigation and says when there is no pool', async () => {
		await page.getByRole('navigation').getByRole('link', { name: 'Pools' }).click();
		await page.getByRole('heading', { name: 'Pools', level: 1 }).waitFor();
		await page.getByText('No host pools yet').waitFor();
	});

	await t.step('a pool is made from the page', async () => {
		await page.getByLabel('Pool name').fill(pool);
		await page.getByRole('button', { name: 'Make pool' }).click();
		await page.getByRole('heading', { name: pool, level: 2 }).waitFor();
	});

	const form = page.locator('#register-host');
	async function register(name, address, keyFile, type) {
		await form.getByLabel('Pool').selectOption(pool);
		await form.getByLabel('Host name').fill(name);
		await form.getByLabel('Address').fill(address);
		await form.getByLabel('Private key file').setInputFiles(keyFile);
		await form.getByLabel('Machine type').fill(type || '');
		await form.getByRole('button', { name: 'Register host' }).click();
	}

	await t.step('a key the machine refuses is an error in words, and nothing is registered', async () => {
		await register('refused', m1, t.env('WEB_OTHERKEY'));
		await page.locator('#ph-error').waitFor({ state: 'visible', timeout: 60000 });
		const msg = await page.locator('#ph-error').textContent();
		if (!/refused the key for user 'root'/.test(msg)) throw new Error('shown: ' + msg);
		const r = await t.api('GET', '/hosts/refused', { token });
		if (r.status !== 404) throw new Error('GET /hosts/refused: ' + r.status);
	});

	await t.step('registering a host through the form shows its host-key fingerprint', async () => {
		await register('h1', m1, t.env('WEB_POOLKEY'), 'test.small');
		await page.locator('#ph-result').getByRole('heading', { name: "Host 'h1' registered" }).waitFor({ timeout: 60000 });
	});
	const shown = (await page.locator('#ph-fingerprint').textContent()).trim();
	t.is(shown, fp1, "the fingerprint shown is the machine's own (ssh-keygen -lf of its host key)");
	await t.shot(page, 'pools-registered');

	const row1 = page.locator('table.hosts tr[data-host="h1"]');
	await row1.waitFor();
	const cells = async (row) => ({
		state: (await row.locator('td.state').textContent()).trim(),
		reach: (await row.locator('td.reach').textContent()).trim(),
		found: (await row.locator('td.found').textContent()).trim(),
		node: (await row.locator('td.node').textContent()).trim(),
		fp: (await row.locator('td.fingerprint').textContent()).trim(),
	});
	let c = await cells(row1);
	t.ok(/^free/.test(c.state) && /^yes/.test(c.reach) && c.node === '\u2014',
		'the host is listed free, answering ssh, with no node on it', JSON.stringify(c));
	t.ok(/\d+ cores?, \d+ MiB, Debian/.test(c.found) && /test\.small/.test(c.found) && c.fp === fp1,
		'with the cores, memory and OS found on it, its machine type and its key fingerprint', JSON.stringify(c));

	await t.step('a machine holding an old Stratus install registers unclean, with the reason', async () => {
		await register('h2', m2, t.env('WEB_POOLKEY'));
		await page.locator('#ph-result').getByRole('heading', { name: "Host 'h2' registered" }).waitFor({ timeout: 60000 });
		const row2 = page.locator('table.hosts tr[data-host="h2"]');
		await row2.locator('td.state', { hasText: 'unclean' }).waitFor();
		const st = await row2.locator('td.state').textContent();
		if (!/holds a Stratus install from before/.test(st)) throw new Error('state cell: ' + st);
	});
	t.is((await page.locator('#ph-fingerprint').textContent()).trim(), fp2, "its fingerprint is machine 2's");
	await t.shot(page, 'pools-unclean');

	await t.step('Clear cleans the unclean host over ssh and frees it', async () => {
		const row2 = page.locator('table.hosts tr[data-host="h2"]');
		await row2.getByRole('button', { name: "Clear host 'h2'" }).click();
		await row2.locator('td.state', { hasText: 'free' }).waitFor({ timeout: 60000 });
	});
	t.ok(!fs.existsSync(t.env('WEB_M2_OPT') + '/stratus'), "the old install is gone from machine 2's /opt");

	const html = await page.content();
	const hostsApi = await t.api('GET', '/hosts', { token });
	t.ok(!/PRIVATE KEY/.test(html) && !html.includes(keyBody) && !/PRIVATE/.test(hostsApi.text) &&
		!hostsApi.text.includes(keyBody), 'no private key on the page nor in the API answer the page reads');

	await t.step('Remove forgets a host', async () => {
		await page.locator('table.hosts tr[data-host="h2"]').getByRole('button', { name: "Remove host 'h2'" }).click();
		await page.locator('table.hosts tr[data-host="h2"]').waitFor({ state: 'detached' });
		const r = await t.api('GET', '/hosts/h2', { token });
		if (r.status !== 404) throw new Error('GET /hosts/h2: ' + r.status);
	});
	t.ok(await page.locator('table.hosts tr[data-host="h1"]').count() === 1 &&
		/1 host: 1 free, 0 busy, 0 unclean/.test(await page.locator('section.pool p.sub').first().textContent()),
		'the pool now counts one free host');

	await t.step("the new-cluster form offers the pools for a template's HostPool", async () => {
		await page.getByRole('navigation').getByRole('link', { name: 'New cluster' }).click();
		await page.getByLabel('Template').selectOption('pooltest');
		const sel = page.getByLabel('Host pool');
		await sel.waitFor();
		const opts = await sel.locator('option').allTextContents();
		if (opts.length !== 2 || !/^none/.test(opts[0]) || opts[1] !== 'pool ' + pool + ' (1 of 1 hosts free)')
			throw new Error('options: ' + opts.join(' | '));
		await sel.selectOption(pool);
		await page.getByLabel('Cluster name').fill('onpool' + process.pid % 100000);
		await page.getByRole('button', { name: 'Create cluster' }).click();
		await page.getByRole('heading', { name: 'onpool' + process.pid % 100000 }).first().waitFor();
	});
	const cl = await t.api('GET', '/clusters/onpool' + process.pid % 100000, { token });
	t.ok(cl.status === 200 && cl.json && cl.json.parameters && cl.json.parameters.HostPool === pool,
		'the cluster made from the form names the pool', cl.text.slice(0, 400));
	t.is(cspViolations.length, 0, 'no page broke the Content-Security-Policy');
});
