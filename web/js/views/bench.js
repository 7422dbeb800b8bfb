/*
 * views/bench.js: the results of `stratus bench` (IOR through Slurm for each
 * OSS count): write and read throughput against OSS count as a line chart
 * (SVG drawn here, no library) and the same figures as a table, which is also
 * what a screen reader reads.
 */
'use strict';

var Views = window.Views || (window.Views = {});

/* Points of a run, whatever the field names: [{oss, write, read}] by OSS count. */
Views.benchPoints = function (run) {
	var pts = run.points || run.results || run.rows || [];
	/* null (not measured) must not become 0. */
	function num(v) { return v === null || v === undefined || v === '' ? NaN : Number(v); }
	return pts.map(function (p) {
		return {
			oss: num(p.oss_count !== undefined ? p.oss_count : (p.oss !== undefined ? p.oss : p.osts)),
			write: num(p.write_mib_s !== undefined ? p.write_mib_s : p.write),
			read: num(p.read_mib_s !== undefined ? p.read_mib_s : p.read)
		};
	}).filter(function (p) { return isFinite(p.oss); }).sort(function (a, b) { return a.oss - b.oss; });
};

Views.benchChart = function (pts, title) {
	var NS = 'http://www.w3.org/2000/svg';
	function s(tag, attrs, text) {
		var el = document.createElementNS(NS, tag);
		Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
		if (text !== undefined) el.textContent = text;
		return el;
	}
	var W = 640, H = 340, L = 70, R = 20, T = 20, B = 50;
	var svg = s('svg', {viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': title});
	svg.appendChild(s('title', {}, title));
	var xs = pts.map(function (p) { return p.oss; });
	var ys = [];
	pts.forEach(function (p) { if (isFinite(p.write)) ys.push(p.write); if (isFinite(p.read)) ys.push(p.read); });
	var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
	if (xmin === xmax) { xmin -= 1; xmax += 1; }
	var ymax = Math.max.apply(null, ys.concat([1]));
	/* A round top for the y axis: 1, 2 or 5 times a power of ten. */
	var mag = Math.pow(10, Math.floor(Math.log10(ymax)));
	var step = [1, 2, 5, 10].map(function (m) { return m * mag / 2; }).filter(function (st) { return ymax / st <= 6; })[0] || mag;
	var ytop = Math.ceil(ymax / step) * step;
	function X(v) { return L + (v - xmin) / (xmax - xmin) * (W - L - R); }
	function Y(v) { return H - B - v / ytop * (H - T - B); }
	for (var v = 0; v <= ytop + 1e-9; v += step) {
		svg.appendChild(s('line', {x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'gridline'}));
		svg.appendChild(s('text', {x: L - 8, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick'}, String(Math.round(v))));
	}
	xs.forEach(function (x) {
		svg.appendChild(s('text', {x: X(x), y: H - B + 18, 'text-anchor': 'middle', class: 'tick'}, String(x)));
	});
	svg.appendChild(s('text', {x: (L + W - R) / 2, y: H - 10, 'text-anchor': 'middle', class: 'axis'}, 'OSS count'));
	svg.appendChild(s('text', {x: 16, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'axis',
		transform: 'rotate(-90 16 ' + (T + H - B) / 2 + ')'}, 'MiB/s'));
	[['write', 'series-write', 'Write'], ['read', 'series-read', 'Read']].forEach(function (ser, k) {
		var ps = pts.filter(function (p) { return isFinite(p[ser[0]]); });
		if (!ps.length) return;
		svg.appendChild(s('polyline', {class: ser[1], fill: 'none',
			points: ps.map(function (p) { return X(p.oss) + ',' + Y(p[ser[0]]); }).join(' ')}));
		ps.forEach(function (p) {
			var c = s('circle', {cx: X(p.oss), cy: Y(p[ser[0]]), r: 4, class: ser[1]});
			c.appendChild(s('title', {}, ser[2] + ' with ' + p.oss + ' OSS: ' + p[ser[0]].toFixed(1) + ' MiB/s'));
			svg.appendChild(c);
		});
		var ly = T + 10 + k * 18;
		svg.appendChild(s('line', {x1: L + 12, x2: L + 36, y1: ly, y2: ly, class: ser[1]}));
		svg.appendChild(s('text', {x: L + 42, y: ly + 4, class: 'legend'}, ser[2]));
	});
	return svg;
};

Views.bench = function (root, params, ctx) {
	var h = UI.h;
	var box = h('div', {id: 'bench-runs'});
	root.appendChild(h('h1', null, 'Benchmarks'));
	root.appendChild(h('p', {class: 'sub'}, 'Results of ', h('code', null, 'stratus bench'),
		': IOR through Slurm on the compute cluster, for each number of storage servers (OSS).'));
	root.appendChild(box);
	API.benchRuns().then(function (runs) {
		if (!ctx.isCurrent()) return;
		if (!runs.length) {
			box.appendChild(h('p', {class: 'empty'}, 'No benchmark results yet. Run ',
				h('code', null, 'stratus bench'), ' to make some.'));
			return;
		}
		runs.slice().sort(function (a, b) { return (b.time_ms || 0) - (a.time_ms || 0); }).forEach(function (run, i) {
			var pts = Views.benchPoints(run);
			var title = run.name || run.id || ('run ' + (i + 1));
			var sec = h('section', {class: 'card bench-run', 'aria-labelledby': 'run-' + i},
				h('h2', {id: 'run-' + i}, title),
				run.time_ms ? h('p', {class: 'sub'}, UI.time(run.time_ms)) : null,
				run.command ? h('pre', {class: 'cmd'}, run.command) : null);
			if (pts.length) sec.appendChild(Views.benchChart(pts, 'Write and read throughput against OSS count, ' + title));
			sec.appendChild(h('table', {class: 'grid bench'},
				h('caption', null, 'Throughput by OSS count'),
				h('thead', null, h('tr', null, h('th', {scope: 'col', class: 'num'}, 'OSS count'),
					h('th', {scope: 'col', class: 'num'}, 'Write (MiB/s)'), h('th', {scope: 'col', class: 'num'}, 'Read (MiB/s)'))),
				h('tbody', null, pts.map(function (p) {
					return h('tr', null, h('th', {scope: 'row', class: 'num'}, String(p.oss)),
						h('td', {class: 'num'}, isFinite(p.write) ? p.write.toFixed(1) : '\u2014'),
						h('td', {class: 'num'}, isFinite(p.read) ? p.read.toFixed(1) : '\u2014'));
				}))));
			box.appendChild(sec);
		});
	}, function (e) { if (ctx.isCurrent()) UI.error(e); });
	UI.focusHeading(root);
};
