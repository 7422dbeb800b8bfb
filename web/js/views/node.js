/*
 * views/node.js: one node: its address, its state timeline (requested, up,
 * each cluster-init script with its duration, ready or failed), every
 * cluster-init script's log, and how to ssh to it.  Refreshes while the node
 * is still coming up.
 */
'use strict';

var Views = window.Views || (window.Views = {});

/* A script record's fields, whatever names the API used. */
Views.scriptFields = function (s) {
	var started = s.started_ms || s.start_ms || null;
	var finished = s.finished_ms || s.end_ms || null;
	return {
		spec: s.spec || '',
		script: s.script || s.name || '',
		status: s.status || '',
		exitCode: s.exit_code,
		started: started,
		finished: finished,
		duration: s.duration_ms !== undefined ? s.duration_ms : (started && finished ? finished - started : null),
		log: s.log !== undefined && s.log !== null ? String(s.log) : ''
	};
};

Views.node = function (root, params, ctx) {
	var h = UI.h;
	var cname = params[0], nname = params[1];
	var enc = encodeURIComponent;
	var info = h('dl', {class: 'facts', id: 'node-facts'});
	var timeline = h('ol', {class: 'timeline', id: 'timeline'});
	var scripts = h('div', {id: 'scripts'});
	var sshBox = h('div', {id: 'ssh'});
	var stateEl = h('span');

	root.appendChild(h('p', {class: 'crumbs'}, h('a', {href: '#/clusters'}, 'Clusters'), ' / ',
		h('a', {href: '#/cluster/' + enc(cname)}, cname), ' / ', nname));
	root.appendChild(h('div', {class: 'page-head'},
		h('div', null, h('h1', null, 'Node ', h('span', {class: 'name'}, nname)), h('p', {class: 'sub'}, 'State ', stateEl)),
		h('div', {class: 'toolbar'},
			h('button', {type: 'button', id: 'node-retry', onclick: function () {
				API.retryNodes(cname, [nname]).then(function () { UI.notice("Retrying '" + nname + "'."); refresh(); }, UI.error);
			}}, 'Retry'),
			h('button', {type: 'button', id: 'node-terminate', onclick: function () {
				if (!UI.confirmAction("Terminate '" + nname + "'?")) return;
				API.terminateNodes(cname, [nname], false).then(function () {
					UI.notice("Terminating '" + nname + "'."); refresh();
				}, UI.error);
			}}, 'Terminate'))));
	root.appendChild(h('div', {class: 'cols'},
		h('section', {class: 'card', 'aria-labelledby': 'facts-title'}, h('h2', {id: 'facts-title'}, 'Details'), info),
		h('section', {class: 'card', 'aria-labelledby': 'ssh-title'}, h('h2', {id: 'ssh-title'}, 'Connect with ssh'), sshBox)));
	root.appendChild(h('section', {class: 'card', 'aria-labelledby': 'tl-title'}, h('h2', {id: 'tl-title'}, 'Timeline'), timeline));
	root.appendChild(h('section', {'aria-labelledby': 'scripts-title'}, h('h2', {id: 'scripts-title'}, 'Cluster-init scripts'), scripts));

	function fact(term, value, id) {
		info.appendChild(h('dt', null, term));
		info.appendChild(h('dd', {id: id || null, class: id ? 'mono' : null}, value === '' || value === null || value === undefined ? '\u2014' : String(value)));
	}

	var openLogs = new Set();   /* keep opened logs open across refreshes */
	var lastKey = '', lastSsh = '';
	var cluster = null;
	function draw(n, evs, scs) {
		var f = Views.nodeFields(n, Views.defNode(cluster, n.template));
		UI.clear(stateEl).appendChild(UI.stateBadge(f.state));
		UI.clear(info);
		fact('IP address', f.ip, 'node-ip');
		fact('Hostname', f.hostname, 'node-hostname');
		fact('Cluster', cname);
		fact('Template', f.template);
		fact('Machine type', f.machineType);
		fact('Cores', f.cores);
		fact('State', f.state + (f.since ? ' for ' + UI.duration(Date.now() - f.since) : ''));
		if (f.reason) fact('Reason', f.reason);

		if (lastSsh === f.ip + '|' + f.hostname) return drawHistory(evs, scs);
		lastSsh = f.ip + '|' + f.hostname;
		UI.clear(sshBox);
		sshBox.appendChild(h('p', null, 'From the manager host, with the cluster\u2019s key:'));
		sshBox.appendChild(h('pre', {class: 'cmd', id: 'ssh-cmd'}, 'stratus ssh ' + cname + ' ' + nname));
		if (f.ip) {
			sshBox.appendChild(h('p', null, 'or with ssh itself, on the manager host (STATE is stratusd\u2019s state directory):'));
			sshBox.appendChild(h('pre', {class: 'cmd'}, 'ssh -i STATE/clusters/' + cname + '/ssh/id_ed25519 root@' + f.ip));
		}

		drawHistory(evs, scs);
	}

	/* Timeline and logs: redrawn only when they change, so an open log keeps
	 * its scroll position and the focus stays where it was. */
	function drawHistory(evs, scs) {
		var key = JSON.stringify([evs, scs]);
		if (key === lastKey) return;
		lastKey = key;
		/* Timeline: the node's events and its scripts, in time order. */
		var items = [];
		/* Scripts come from their records (with durations), so the
		 * manager's own script events would only repeat them. */
		evs.forEach(function (e) {
			if (e.kind === 'script' && scs.length) return;
			var msg = String(e.message || '').replace(/:\s*$/, '');
			items.push({t: Views.eventTime(e), text: (e.kind ? e.kind + ': ' : '') + msg,
				bad: /-> Failed/.test(msg)});
		});
		scs.forEach(function (s) {
			var sf = Views.scriptFields(s);
			var id = 'cluster-init ' + sf.spec + '/' + sf.script;
			if (sf.started) items.push({t: sf.started, text: id + ' started'});
			if (sf.status && sf.status !== 'started') {
				items.push({t: sf.finished || sf.started || 0, bad: sf.status === 'failed',
					text: id + ' ' + sf.status +
						(sf.exitCode !== undefined && sf.exitCode !== null ? ' (exit ' + sf.exitCode + ')' : '') +
						(sf.duration !== null ? ' after ' + UI.shortDuration(sf.duration) : '')});
			}
		});
		items.sort(function (a, b) { return a.t - b.t; });
		UI.clear(timeline);
		if (!items.length) timeline.appendChild(h('li', {class: 'empty'}, 'Nothing has happened to this node yet.'));
		var t0 = items.length ? items[0].t : 0;
		items.forEach(function (it) {
			timeline.appendChild(h('li', {class: it.bad ? 'bad' : null},
				h('time', null, UI.time(it.t)),
				h('span', {class: 'rel muted'}, it.t && t0 ? ' +' + UI.shortDuration(it.t - t0) : ''),
				h('span', {class: 'what'}, ' ' + it.text)));
		});

		UI.clear(scripts);
		if (!scs.length) {
			scripts.appendChild(h('p', {class: 'empty'}, 'No cluster-init script has run on this node yet.'));
		}
		scs.forEach(function (s, i) {
			var sf = Views.scriptFields(s);
			var id = sf.spec + '/' + sf.script;
			var d = h('details', {class: 'script ' + (sf.status || ''), open: openLogs.has(id) || sf.status === 'failed',
				dataset: {script: id}},
				h('summary', null, h('span', {class: 'mono'}, id), ' ', UI.stateBadge(sf.status || 'unknown'),
					sf.duration !== null ? h('span', {class: 'muted'}, ' ' + UI.shortDuration(sf.duration)) : null,
					sf.exitCode !== undefined && sf.exitCode !== null && sf.status !== 'started' ?
						h('span', {class: 'muted'}, ' exit ' + sf.exitCode) : null),
				h('pre', {class: 'log', tabindex: 0, 'aria-label': 'Log of ' + id}, sf.log || '(empty log)'));
			d.addEventListener('toggle', function () { if (d.open) openLogs.add(id); else openLogs.delete(id); });
			scripts.appendChild(d);
		});
	}

	var failures = 0;
	function refresh() {
		(cluster ? Promise.resolve(cluster) : API.cluster(cname).catch(function () { return {}; }))
			.then(function (c) { cluster = c; return API.node(cname, nname); })
			.then(function (n) {
				if (!ctx.isCurrent()) return;
				failures = 0;
				n = n || {};
				var evs = (Array.isArray(n.events) ? n.events : []).filter(function (e) { return !e.node || e.node === nname; });
				draw(n, evs, Array.isArray(n.scripts) ? n.scripts : []);
			}, function (e) {
				if (ctx.isCurrent() && failures++ === 0) UI.error(e);
			});
	}
	refresh();
	UI.focusHeading(root);
	var timer = setInterval(refresh, 2000);
	return function () { clearInterval(timer); };
};
