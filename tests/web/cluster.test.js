/*
 * cluster.test.js: the GUI driving real namespaced nodes.  Creates cluster
 * $WEB_CLUSTER from the guitest template through the generated form (with
 * its type checks), starts it, adds 2 execute nodes with the add-nodes form
 * and watches them reach Ready in the table without a reload, opens a node to
 * read its IP and its cluster-init log, and terminates it.
 */
'use strict';

const t = require('./lib');

const READY_MS = 180000;

t.run(async ({ page }) => {
	t.plan(23);
	const user = t.env('STRATUS_USER', 'admin'), password = t.env('STRATUS_PASSWORD');
	const cluster = t.env('WEB_CLUSTER', 'guitest1');
	/* Confirmations ("Terminate ...?") are answered yes. */
	page.on('dialog', (d) => d.accept());
	const apiGet = (p) => page.evaluate(async (path) => {
		const r = await fetch('api/v1' + path, { cache: 'no-store' });
		return { status: r.status, json: await r.json().catch(() => null) };
	}, p);

	await t.login(page, user, password);
	await page.getByRole('heading', { name: 'Clusters', level: 1 }).waitFor();

	await t.step('the new-cluster form is generated from the template parameters', async () => {
		await page.getByRole('navigation').getByRole('link', { name: 'New cluster' }).click();
		await page.getByRole('heading', { name: 'New cluster' }).waitFor();
		await page.getByLabel('Template').selectOption('guitest');
		await page.getByLabel('Greeting (required)').waitFor();
		const max = await page.getByLabel('Max execute nodes').inputValue();
		const mt = await page.getByLabel('Machine type').inputValue();
		const loud = await page.getByLabel('Shout the greeting').isChecked();
		if (max !== '4' || mt !== 'local.small' || loud !== false)
			throw new Error('defaults shown: max=' + max + ' machine=' + mt + ' loud=' + loud);
		const opts = await page.getByLabel('Machine type').locator('option').allTextContents();
		if (!opts.includes('Large (local namespace)')) throw new Error('choices: ' + opts.join(', '));
	});

	await t.step('values of the wrong type are refused before anything is sent', async () => {
		await page.getByLabel('Cluster name').fill(cluster);
		await page.getByLabel('Max execute nodes').fill('lots');
		await page.getByRole('button', { name: 'Create cluster' }).click();
		const err = page.locator('#nc-error');
		await err.waitFor({ state: 'visible' });
		const text = await err.textContent();
		if (!/'Greeting' is required/.test(text) || !/'Max execute nodes' must be a whole number/.test(text))
			throw new Error('errors shown: ' + text);
		await page.getByLabel('Max execute nodes').fill('99');
		await page.getByRole('button', { name: 'Create cluster' }).click();
		await page.waitForFunction(() => /at most 16/.test(document.querySelector('#nc-error').textContent));
		const r = await apiGet('/clusters/' + cluster);
		if (r.status !== 404) throw new Error('the cluster exists after refused submits: ' + r.status);
	});
	await t.shot(page, 'new-cluster-errors');

	await t.step('creating the cluster through the form shows its page', async () => {
		await page.getByLabel('Max execute nodes').fill('4');
		await page.getByLabel('Greeting (required)').fill('hello GUI');
		await t.shot(page, 'new-cluster');
		await page.getByRole('button', { name: 'Create cluster' }).click();
		await page.getByRole('heading', { name: 'Cluster ' + cluster }).waitFor();
		const r = await apiGet('/clusters/' + cluster);
		if (r.status !== 200 || r.json.template !== 'guitest') throw new Error(JSON.stringify(r));
		if (r.json.parameters.Greeting !== 'hello GUI' || r.json.parameters.MaxExecute !== 4)
			throw new Error('parameters stored: ' + JSON.stringify(r.json.parameters));
	});

	const head = cluster + '-head-1';
	const stateOf = (node) => page.locator('#nodes tr[data-node="' + node + '"] td.state .badge').first();
	const headRow = page.locator('#nodes tbody tr').filter({ hasText: '-head' });
	await t.step('starting it brings the head node to Ready in the table', async () => {
		await page.locator('#cluster-start').click();
		await headRow.first().waitFor({ timeout: 30000 });
		await headRow.first().locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: READY_MS });
	});
	await t.shot(page, 'cluster-started');

	/* A reload would lose this; the table must update by itself. */
	await page.evaluate(() => { window.__stratusNoReload = 'still here'; });
	let execNames = [];
	await t.step('adding 2 execute nodes with the form in plain sight', async () => {
		if (!(await page.locator('#add-nodes').isVisible())) throw new Error('the add-nodes form is not visible');
		await page.locator('#add-array').selectOption('execute');
		await page.locator('#add-count').fill('2');
		await page.locator('#add-submit').click();
		await page.waitForFunction(() =>
			document.querySelectorAll('#nodes tbody tr[data-node*="-execute-"]').length === 2, null, { timeout: 30000 });
		execNames = await page.locator('#nodes tbody tr[data-node*="-execute-"]').evaluateAll(
			(rows) => rows.map((r) => r.dataset.node));
	});
	await t.shot(page, 'nodes-coming-up');

	await t.step('both reach Ready in the table without reloading the page', async () => {
		await page.waitForFunction(() => {
			const rows = document.querySelectorAll('#nodes tbody tr[data-node*="-execute-"]');
			return rows.length === 2 && Array.from(rows).every((r) =>
				r.querySelector('td.state .badge').textContent === 'Ready');
		}, null, { timeout: READY_MS, polling: 500 });
		const mark = await page.evaluate(() => window.__stratusNoReload);
		if (mark !== 'still here') throw new Error('the page was reloaded');
	});
	t.ok(execNames.length === 2 && execNames.every((n) => n.startsWith(cluster + '-execute-')),
		'the new nodes are named CLUSTER-execute-N', execNames.join(', '));
	await t.shot(page, 'nodes-ready');

	await t.step('the clusters list shows the cluster with its nodes counted by state', async () => {
		await page.getByRole('navigation').getByRole('link', { name: 'Clusters' }).click();
		const row = page.locator('#clusters tr[data-cluster="' + cluster + '"]');
		await row.locator('td.counts', { hasText: '3 Ready' }).waitFor();
		const tmpl = await row.locator('td').first().textContent();
		if (tmpl !== 'guitest') throw new Error('template shown: ' + tmpl);
		await t.shot(page, 'clusters-list');
		await row.getByRole('link', { name: cluster }).click();
		await page.getByRole('heading', { name: 'Cluster ' + cluster }).waitFor();
	});

	const node = execNames[0] || cluster + '-execute-1';
	let apiNode = null;
	await t.step('opening a node shows its IP address, the one the manager gave it', async () => {
		await page.locator('#nodes').getByRole('link', { name: node, exact: true }).click();
		await page.getByRole('heading', { name: 'Node ' + node }).waitFor();
		await page.waitForFunction(() => /^\d+\.\d+\.\d+\.\d+$/.test(
			(document.querySelector('#node-ip') || {}).textContent || ''));
		const ip = await page.locator('#node-ip').textContent();
		apiNode = (await apiGet('/clusters/' + cluster + '/nodes/' + node)).json;
		if (!apiNode || apiNode.ip !== ip) throw new Error('page shows ' + ip + ', API has ' + (apiNode && apiNode.ip));
	});
	const hostname = await page.locator('#node-hostname').textContent().catch(() => '');
	t.is(hostname, node, 'the node page shows its hostname');

	await t.step("its cluster-init script's log is there, with the cluster's greeting", async () => {
		const d = page.locator('details[data-script="default/10-hello.sh"]');
		await d.waitFor();
		await d.locator('summary').click();
		const log = await d.locator('pre.log').textContent();
		if (!log.includes('hello from ' + node + ' in ' + cluster + ': hello GUI'))
			throw new Error('log: ' + log);
		const tl = await page.locator('#timeline').textContent();
		if (!/10-hello\.sh succeeded/.test(tl)) throw new Error('timeline: ' + tl);
	});
	t.like(await page.locator('#ssh-cmd').textContent(), new RegExp('stratus ssh ' + cluster + ' ' + node),
		'the node page says how to ssh to it');
	await t.shot(page, 'node');

	await t.step('terminating the node from its page takes it down', async () => {
		await page.locator('#node-terminate').click();
		await page.waitForFunction(() => {
			const b = document.querySelector('.page-head .sub .badge');
			return b && /^(Terminating|Off)$/.test(b.textContent);
		}, null, { timeout: 30000 });
		await page.getByRole('link', { name: cluster, exact: true }).click();
		await page.getByRole('heading', { name: 'Cluster ' + cluster }).waitFor();
		await page.waitForFunction((n) => {
			const r = document.querySelector('#nodes tr[data-node="' + n + '"]');
			return !r || r.querySelector('td.state .badge').textContent === 'Off';
		}, node, { timeout: 60000 });
	});
	await t.shot(page, 'node-terminated');

	await t.step('selecting the terminated node and removing it deletes its row', async () => {
		const row = page.locator('#nodes tr[data-node="' + node + '"]');
		await row.getByRole('checkbox').check();
		await page.locator('#selected-count', { hasText: '1 node selected' }).waitFor();
		await page.locator('#nodes-remove').click();
		await row.waitFor({ state: 'detached', timeout: 30000 });
		const r = await apiGet('/clusters/' + cluster + '/nodes/' + node);
		if (r.status !== 404) throw new Error('the record is still there: ' + r.status);
	});
	await t.step('autoscale settings are saved: max count and idle time', async () => {
		await page.locator('#as-array').selectOption('execute');
		await page.locator('#as-max').fill('2');
		await page.locator('#as-idle').fill('120');
		await page.locator('#autoscale').getByRole('button', { name: 'Save' }).click();
		await page.locator('#flash', { hasText: 'Autoscale settings' }).waitFor();
		const c = (await apiGet('/clusters/' + cluster)).json;
		const ex = c.definition.nodes.find((n) => n.name === 'execute');
		if (ex.max_count !== 2 || c.definition.autoscale.idle_time !== 120 ||
		    ex.configuration['slurm.idle_time'] !== 120)
			throw new Error('stored: ' + JSON.stringify(c.definition));
	});
	await t.step("the manager's refusal of nodes past the max count is shown in words", async () => {
		await page.locator('#add-array').selectOption('execute');
		await page.locator('#add-count').fill('2');
		await page.locator('#add-submit').click();
		await page.locator('#flash.flash-error').waitFor();
		const msg = await page.locator('#flash').textContent();
		if (!/MaxCount 2/.test(msg)) throw new Error('shown: ' + msg);
	});
	await t.shot(page, 'max-count-refused');
	const other = execNames[1];
	t.ok(other && (await stateOf(other).textContent()) === 'Ready', 'the other execute node is still Ready');

	/* A second cluster whose cluster-init fails until a file exists. */
	const failing = cluster + 'f', flag = t.env('WEB_FLAG');
	await page.evaluate(async ([n, f]) => {
		await API.createCluster('guitest', n, { Greeting: 'second try', MustExist: f });
		await API.startCluster(n);
	}, [failing, flag]);
	const fhead = failing + '-head';
	await t.step('a node whose cluster-init fails shows Failed and the reason', async () => {
		await page.goto(t.URL + '#/cluster/' + failing);
		const row = page.locator('#nodes tr[data-node="' + fhead + '"]');
		await row.locator('.badge', { hasText: 'Failed' }).waitFor({ timeout: READY_MS });
		const reason = await row.locator('.reason').textContent();
		if (!/10-hello\.sh exited 3/.test(reason)) throw new Error('reason shown: ' + reason);
	});
	await t.step("its page opens the failing script's log by itself", async () => {
		await page.locator('#nodes').getByRole('link', { name: fhead, exact: true }).click();
		const d = page.locator('details[data-script="default/10-hello.sh"]');
		await d.locator('pre.log', { hasText: 'does not exist yet' }).waitFor();
		if (!(await d.evaluate((el) => el.open))) throw new Error('the failed log is closed');
		if (!(await page.locator('#timeline li.bad').count())) throw new Error('no failure in the timeline');
	});
	await t.shot(page, 'node-failed');
	require('fs').writeFileSync(flag, 'now it exists\n');
	await t.step('Retry after the fix brings it to Ready', async () => {
		await page.locator('#node-retry').click();
		await page.waitForFunction(() => {
			const b = document.querySelector('.page-head .sub .badge');
			return b && b.textContent === 'Ready';
		}, null, { timeout: READY_MS });
		const log = await page.locator('details[data-script="default/10-hello.sh"] pre.log').textContent();
		if (!log.includes('second try')) throw new Error('log after retry: ' + log);
	});
	await t.shot(page, 'node-retried');

	/* The clusters list's own buttons: delete is refused while nodes run,
	 * terminate takes them down, then delete removes the cluster. */
	await page.getByRole('navigation').getByRole('link', { name: 'Clusters' }).click();
	const frow = page.locator('#clusters tr[data-cluster="' + failing + '"]');
	await t.step('deleting a cluster whose nodes run is refused, with the reason', async () => {
		await frow.getByRole('button', { name: 'Delete' }).click();
		await page.locator('#flash.flash-error', { hasText: 'not Off' }).waitFor();
	});
	await t.step('terminating it from the list takes its nodes down', async () => {
		await frow.getByRole('button', { name: 'Terminate' }).click();
		await frow.locator('td.counts', { hasText: /^1 Off$/ }).waitFor({ timeout: 60000 });
	});
	await t.step('then deleting it removes it from the list', async () => {
		await frow.getByRole('button', { name: 'Delete' }).click();
		await frow.waitFor({ state: 'detached', timeout: 15000 });
		const r = await apiGet('/clusters/' + failing);
		if (r.status !== 404) throw new Error('still there: ' + r.status);
	});
});
