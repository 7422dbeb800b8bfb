/*
 * pages.test.js: the GUI without nodes: logging in with the keyboard alone,
 * an API error shown in words, and the benchmarks page drawing a run stored
 * with POST /api/v1/bench (as `stratus bench` does) as a chart and a table.
 */
'use strict';

const t = require('./lib');

t.run(async ({ page }) => {
	t.plan(12);
	const user = t.env('STRATUS_USER', 'admin'), password = t.env('STRATUS_PASSWORD');
	const token = t.env('WEB_TOKEN');

	const cspViolations = [];
	page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
	const first = await page.goto(t.URL);
	const hdr = first.headers();
	t.ok(/default-src 'self'/.test(hdr['content-security-policy'] || '') && /frame-ancestors 'none'/.test(hdr['content-security-policy']) &&
		hdr['x-frame-options'] === 'DENY', 'the GUI is served with a strict Content-Security-Policy and is never framed',
		JSON.stringify(hdr));

	await t.step('logging in works with the keyboard alone', async () => {
		await page.goto(t.URL + '#/login');
		await page.getByLabel('User name').waitFor();
		const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
		if (focused !== 'login-user') throw new Error('focus starts on ' + focused);
		await page.keyboard.type(user);
		await page.keyboard.press('Tab');
		await page.keyboard.type(password);
		await page.keyboard.press('Enter');
		await page.getByRole('heading', { name: 'Clusters', level: 1 }).waitFor();
	});

	await t.step('every form field on the new-cluster page has a label', async () => {
		await page.goto(t.URL + '#/new');
		await page.getByRole('heading', { name: 'New cluster' }).waitFor();
		const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('main input, main select'))
			.filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.id || el.name));
		if (unlabelled.length) throw new Error('unlabelled: ' + unlabelled.join(', '));
	});

	await t.step("a missing cluster shows the API's error in words", async () => {
		await page.goto(t.URL + '#/cluster/no-such-cluster');
		await page.locator('#flash.flash-error').waitFor();
		const msg = await page.locator('#flash').textContent();
		if (!/no cluster named 'no-such-cluster'/.test(msg)) throw new Error('shown: ' + msg);
	});
	await t.shot(page, 'api-error');

	const run = {
		name: 'seed-ior-' + process.pid, time_ms: Date.now(), command: 'stratus bench --oss 1,2,4',
		points: [{ oss_count: 1, write_mib_s: 410.5, read_mib_s: 520.25 },
			{ oss_count: 2, write_mib_s: 790, read_mib_s: 1010 },
			{ oss_count: 4, write_mib_s: 1480.75, read_mib_s: null }],
	};
	let r = await t.api('POST', '/bench', { token, body: run });
	t.is(r.status, 201, 'a benchmark run is stored with POST /api/v1/bench');
	const csv = 'oss,cap_mib_s,write_mib_s,read_mib_s,runs\n1,100.0,98.5,99.1,3\n2,200.0,190.25,,3\n';
	r = await t.api('POST', '/bench?name=fs-scaling-' + process.pid, { token, body: csv, contentType: 'text/csv' });
	t.ok(r.status === 201 && r.json.points.length === 2 && r.json.points[1].write_mib_s === 190.25 &&
		r.json.points[1].read_mib_s === null, "bench/fs-scaling's CSV is taken as it is (text/csv)", r.text);
	r = await t.api('POST', '/bench?name=bad-csv', { token, body: 'oss,write_mib_s\nfour,1\n', contentType: 'text/csv' });
	t.ok(r.status === 400 && /line 2/.test(r.json.error), 'a CSV with a bad figure is refused, naming the line', r.text);
	r = await t.api('POST', '/bench', { token, body: { name: '../x', points: [] } });
	t.is(r.status, 400, 'a run with a bad name or no points is refused');

	await t.step('the benchmarks page draws write and read against OSS count', async () => {
		await page.getByRole('navigation').getByRole('link', { name: 'Benchmarks' }).click();
		await page.getByRole('heading', { name: run.name }).waitFor();
		await page.getByRole('heading', { name: 'fs-scaling-' + process.pid }).waitFor();
		const chart = page.locator('section.bench-run', { has: page.getByRole('heading', { name: run.name }) });
		const lines = await chart.locator('svg.chart polyline').count();
		if (lines !== 2) throw new Error(lines + ' lines drawn');
		const points = await chart.locator('svg.chart circle').count();
		if (points !== 5) throw new Error(points + ' points drawn (3 write, 2 read expected)');
	});
	const rows = await page.locator('section.bench-run', { has: page.getByRole('heading', { name: run.name }) })
		.locator('table.bench tbody tr').allTextContents();
	t.is(rows.length, 3, 'the table has one row per OSS count');
	t.ok(rows[0] && rows[0].includes('410.5') && rows[0].includes('520.3') && rows[2].includes('\u2014'),
		'the table shows the figures, and a dash where a read was not measured', rows.join(' | '));
	await t.shot(page, 'bench');
	t.is(cspViolations.length, 0, 'no page broke the Content-Security-Policy');
});
