/*
 * views/cluster.js: one cluster.  The nodes table updates itself every two
 * seconds in place (rows keyed by node name, so the selection and the focus
 * survive); adding nodes is a form in plain sight above it; selected nodes can
 * be terminated, removed or retried; autoscale settings; the cluster's events.
 */
'use strict';

var Views = window.Views || (window.Views = {});

/* The cluster definition's entry for a node or node array (its attributes:
 * MachineType, Cores...), or {}. */
Views.defNode = function (c, template) {
	var ns = c && c.definition && Array.isArray(c.definition.nodes) ? c.definition.nodes : [];
	for (var i = 0; i < ns.length; i++) if (ns[i].name === template) return ns[i];
	return {};
};

function attrOf(d, names) {
	var a = d && d.attributes ? d.attributes : {};
	var keys = Object.keys(a);
	for (var i = 0; i < names.length; i++)
		for (var k = 0; k < keys.length; k++)
			if (keys[k].toLowerCase() === names[i].toLowerCase()) return a[keys[k]];
	return undefined;
}

/* One node's fields, whatever names the API used for them; d is its
 * definition entry (Views.defNode) for what the node record lacks. */
Views.nodeFields = function (n, d) {
	d = d || {};
	var mt = n.machine_type || n.machinetype || d.machine_type || attrOf(d, ['MachineType']);
	var cores = n.cores !== undefined ? n.cores : (n.core_count !== undefined ? n.core_count :
		(d.cores !== undefined ? d.cores : attrOf(d, ['Cores', 'CoreCount', 'CPUs'])));
	var since = n.state_changed || n.state_since_ms || n.state_changed_ms || n.state_time_ms || n.state_since || n.updated_ms || null;
	if (typeof since === 'string') since = Date.parse(since);
	return {
		name: n.name,
		template: n.template || n.array || n.nodearray || '',
		state: n.state || 'Unknown',
		target: n.target_state || n.targetstate || '',
		ip: n.ip || n.private_ip || n.address || '',
		hostname: n.hostname || n.name,
		machineType: mt === undefined || mt === null ? '' : String(mt),
		cores: cores === undefined || cores === null ? '' : cores,
		since: since,
		reason: n.reason || n.state_reason || n.status_message || '',
		isArray: n.is_array !== undefined ? !!n.is_array : (n.nodearray !== undefined ? !!n.nodearray : null)
	};
};

/* The node arrays one can add nodes to: from the cluster record if it lists
 * them, else from the nodes already in arrays. */
Views.arraysOf = function (c, nodes) {
	var out = [];
	function add(name, extra) {
		if (!name || out.some(function (a) { return a.name === name; })) return;
		out.push(Object.assign({name: name}, extra || {}));
	}
	var lists = [c.nodearrays, c.arrays, c.definition && c.definition.nodearrays];
	lists.forEach(function (l) {
		if (Array.isArray(l)) l.forEach(function (a) {
			if (typeof a === 'object' && a && a.array === false) return;
			add(typeof a === 'string' ? a : a.name, typeof a === 'object' ? a : null);
		});
		else if (l && typeof l === 'object') Object.keys(l).forEach(function (k) { add(k, l[k]); });
	});
	if (Array.isArray(c.definition && c.definition.nodes)) {
		c.definition.nodes.forEach(function (n) { if (n.is_array || n.array) add(n.name, n); });
		if (out.length) return out;
	}
	(nodes || []).forEach(function (n) {
		var f = Views.nodeFields(n);
		if (f.isArray) add(f.template);
	});
	return out;
};

Views.cluster = function (root, params, ctx) {
	var h = UI.h;
	var name = params[0];
	var enc = encodeURIComponent;
	var cluster = null;
	var nodes = [];
	var rows = new Map();        /* node name -> {tr, cells, box} */
	var selected = new Set();
	var arrays = [];

	/* ---- head ---- */
	var stateEl = h('span');
	var tmplEl = h('span');
	var head = h('div', {class: 'page-head'},
		h('div', null, h('h1', null, 'Cluster ', h('span', {class: 'name'}, name)),
			h('p', {class: 'sub'}, 'Template ', tmplEl, ' \u00b7 state ', stateEl)),
		h('div', {class: 'toolbar'},
			h('button', {type: 'button', id: 'cluster-start', class: 'primary', onclick: function () {
				act(API.startCluster(name), "Cluster '" + name + "' is starting.");
			}}, 'Start'),
			h('button', {type: 'button', id: 'cluster-terminate', onclick: function () {
				if (UI.confirmAction("Terminate every node of cluster '" + name + "'?"))
					act(API.terminateCluster(name), "Cluster '" + name + "' is terminating.");
			}}, 'Terminate'),
			h('button', {type: 'button', id: 'cluster-delete', class: 'danger', onclick: function () {
				if (!UI.confirmAction("Delete cluster '" + name + "' and all its records?")) return;
				API.deleteCluster(name).then(function () {
					UI.notice("Cluster '" + name + "' deleted.");
					App.go('#/clusters');
				}, UI.error);
			}}, 'Delete')));
	root.appendChild(h('p', {class: 'crumbs'}, h('a', {href: '#/clusters'}, 'Clusters'), ' / ', name));
	root.appendChild(head);

	/* ---- add nodes: in plain sight ---- */
	var addArray = h('select', {id: 'add-array', name: 'array', required: true});
	var addCount = h('input', {id: 'add-count', name: 'count', type: 'number', min: 1, max: 1000, value: '1',
		required: true, inputmode: 'numeric'});
	var addBtn = h('button', {type: 'submit', class: 'primary', id: 'add-submit'}, 'Add nodes');
	var addForm = h('form', {class: 'inline card', id: 'add-nodes', 'aria-labelledby': 'add-title', novalidate: true},
		h('h2', {id: 'add-title'}, 'Add nodes'),
		h('div', {class: 'field'}, h('label', {for: 'add-array'}, 'Node array'), addArray),
		h('div', {class: 'field narrow'}, h('label', {for: 'add-count'}, 'Count'), addCount),
		addBtn);
	addForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var count = Number(addCount.value);
		if (!addArray.value) { UI.flash('error', 'Pick the node array to add nodes to.'); addArray.focus(); return; }
		if (!Number.isInteger(count) || count < 1 || count > 1000) {
			UI.flash('error', "The count must be a whole number from 1 to 1000, not '" + addCount.value + "'.");
			addCount.focus();
			return;
		}
		addBtn.disabled = true;
		API.addNodes(name, addArray.value, count).then(function (r) {
			addBtn.disabled = false;
			var made = r && Array.isArray(r.nodes) ? r.nodes.map(function (n) { return n.name || n; }) : null;
			UI.notice('Adding ' + count + " '" + addArray.value + "' node" + (count > 1 ? 's' : '') +
				(made && made.length ? ': ' + made.join(', ') : '') + '.');
			refresh();
		}, function (e) { addBtn.disabled = false; UI.error(e); });
	});
	root.appendChild(addForm);

	/* ---- nodes ---- */
	var tbody = h('tbody');
	var all = h('input', {type: 'checkbox', id: 'select-all', 'aria-label': 'Select all nodes'});
	var selCount = h('span', {id: 'selected-count', 'aria-live': 'polite'}, 'No nodes selected');
	var force = h('input', {type: 'checkbox', id: 'force'});
	var selButtons = [
		h('button', {type: 'button', id: 'nodes-terminate', onclick: function () { onSelected('terminate'); }}, 'Terminate'),
		h('button', {type: 'button', id: 'nodes-remove', class: 'danger', onclick: function () { onSelected('remove'); }}, 'Remove'),
		h('button', {type: 'button', id: 'nodes-retry', onclick: function () { onSelected('retry'); }}, 'Retry')
	];
	var emptyNodes = h('p', {class: 'empty', hidden: true}, 'This cluster has no nodes yet: start it, or add nodes above.');
	root.appendChild(h('section', {'aria-labelledby': 'nodes-title'},
		h('h2', {id: 'nodes-title'}, 'Nodes'),
		h('div', {class: 'toolbar selection', role: 'group', 'aria-label': 'Act on the selected nodes'},
			selCount, selButtons,
			h('span', {class: 'check'}, force, h('label', {for: 'force'}, 'Force (also scheduler and other single nodes)'))),
		h('div', {class: 'scroll'}, h('table', {class: 'grid', id: 'nodes'},
			h('caption', {class: 'sr-only'}, "Nodes of cluster '" + name + "', updated every 2 seconds"),
			h('thead', null, h('tr', null,
				h('th', {scope: 'col', class: 'sel'}, all),
				h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col'}, 'Template'),
				h('th', {scope: 'col'}, 'State'), h('th', {scope: 'col'}, 'IP address'),
				h('th', {scope: 'col'}, 'Machine type'), h('th', {scope: 'col', class: 'num'}, 'Cores'),
				h('th', {scope: 'col'}, 'Time in state'))),
			tbody)),
		emptyNodes));
	all.addEventListener('change', function () {
		nodes.forEach(function (n) { if (all.checked) selected.add(n.name); else selected.delete(n.name); });
		rows.forEach(function (r, k) { r.box.checked = selected.has(k); });
		showSelection();
	});

	function showSelection() {
		var n = selected.size;
		selCount.textContent = n === 0 ? 'No nodes selected' : n + ' node' + (n > 1 ? 's' : '') + ' selected';
		selButtons.forEach(function (b) { b.disabled = n === 0; });
		all.checked = n > 0 && n === nodes.length;
		all.indeterminate = n > 0 && n < nodes.length;
	}

	function onSelected(what) {
		var names = Array.from(selected);
		if (!names.length) return;
		var p;
		if (what === 'terminate') {
			if (!UI.confirmAction('Terminate ' + names.join(', ') + '?')) return;
			p = API.terminateNodes(name, names, force.checked);
		} else if (what === 'remove') {
			if (!UI.confirmAction('Remove ' + names.join(', ') + ' (terminate and delete the records)?')) return;
			p = API.removeNodes(name, names, force.checked);
		} else {
			p = API.retryNodes(name, names);
		}
		p.then(function () {
			UI.notice((what === 'retry' ? 'Retrying ' : what === 'remove' ? 'Removing ' : 'Terminating ') + names.join(', ') + '.');
			if (what === 'remove') names.forEach(function (k) { selected.delete(k); });
			refresh();
		}, UI.error);
	}

	function makeRow(f) {
		var box = h('input', {type: 'checkbox', 'aria-label': "Select node '" + f.name + "'"});
		box.addEventListener('change', function () {
			if (box.checked) selected.add(f.name); else selected.delete(f.name);
			showSelection();
		});
		var cells = {
			template: h('td'), state: h('td', {class: 'state'}), ip: h('td', {class: 'mono'}),
			machine: h('td'), cores: h('td', {class: 'num'}), time: h('td')
		};
		var tr = h('tr', {dataset: {node: f.name}},
			h('td', {class: 'sel'}, box),
			h('th', {scope: 'row'}, h('a', {href: '#/cluster/' + enc(name) + '/node/' + enc(f.name)}, f.name)),
			cells.template, cells.state, cells.ip, cells.machine, cells.cores, cells.time);
		return {tr: tr, cells: cells, box: box, state: null};
	}

	function updateRow(r, f) {
		r.cells.template.textContent = f.template;
		if (r.state !== f.state + '|' + f.target + '|' + f.reason) {
			r.state = f.state + '|' + f.target + '|' + f.reason;
			UI.clear(r.cells.state).appendChild(UI.stateBadge(f.state));
			if (f.target && f.target !== f.state)
				r.cells.state.appendChild(h('span', {class: 'muted'}, ' \u2192 ' + f.target));
			if (f.reason && f.state === 'Failed')
				r.cells.state.appendChild(h('div', {class: 'reason'}, f.reason));
		}
		r.cells.ip.textContent = f.ip;
		r.cells.machine.textContent = f.machineType;
		r.cells.cores.textContent = f.cores === '' ? '' : String(f.cores);
		r.cells.time.textContent = f.since ? UI.duration(Date.now() - f.since) : '';
		r.box.checked = selected.has(f.name);
	}

	function drawNodes() {
		var seen = new Set();
		nodes.forEach(function (n, i) {
			var f = Views.nodeFields(n, Views.defNode(cluster, n.template));
			seen.add(f.name);
			var r = rows.get(f.name);
			if (!r) { r = makeRow(f); rows.set(f.name, r); }
			updateRow(r, f);
			/* Keep the API's order without rebuilding rows that stay. */
			if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
		});
		rows.forEach(function (r, k) {
			if (!seen.has(k)) { r.tr.remove(); rows.delete(k); selected.delete(k); }
		});
		emptyNodes.hidden = nodes.length !== 0;
		showSelection();
	}

	function drawArrays() {
		var now = Views.arraysOf(cluster || {}, nodes);
		var key = now.map(function (a) { return a.name; }).join(',');
		var same = key === arrays.map(function (a) { return a.name; }).join(',');
		arrays = now;
		if (same) return;
		var keep = addArray.value;
		UI.clear(addArray);
		if (!arrays.length) addArray.appendChild(h('option', {value: ''}, '(no node arrays)'));
		arrays.forEach(function (a) { addArray.appendChild(h('option', {value: a.name, selected: a.name === keep}, a.name)); });
		drawAutoscaleArrays();
	}

	/* ---- autoscale ---- */
	var asArray = h('select', {id: 'as-array', name: 'array'});
	var asMax = h('input', {id: 'as-max', name: 'max_count', type: 'number', min: 0, max: 10000, inputmode: 'numeric'});
	var asIdle = h('input', {id: 'as-idle', name: 'idle_time', type: 'number', min: 0, max: 86400 * 7, inputmode: 'numeric',
		'aria-describedby': 'as-idle-help'});
	var asEnabled = h('input', {id: 'as-enabled', name: 'autoscale', type: 'checkbox'});
	var asForm = h('form', {class: 'inline card', id: 'autoscale', 'aria-labelledby': 'as-title', novalidate: true},
		h('h2', {id: 'as-title'}, 'Autoscale'),
		h('div', {class: 'field check'}, asEnabled, h('label', {for: 'as-enabled'}, 'Autoscale with the job queue')),
		h('div', {class: 'field'}, h('label', {for: 'as-array'}, 'Node array'), asArray),
		h('div', {class: 'field narrow'}, h('label', {for: 'as-max'}, 'Max count'), asMax),
		h('div', {class: 'field narrow'}, h('label', {for: 'as-idle'}, 'Idle time (s)'), asIdle),
		h('button', {type: 'submit'}, 'Save'),
		h('p', {id: 'as-idle-help', class: 'help'}, 'Nodes idle this long are given back; max count caps the array.'));
	function drawAutoscaleArrays() {
		var keep = asArray.value;
		UI.clear(asArray);
		arrays.forEach(function (a) { asArray.appendChild(h('option', {value: a.name, selected: a.name === keep}, a.name)); });
		fillAutoscale();
	}
	function fillAutoscale() {
		if (!cluster) return;
		var as = cluster.autoscale || (cluster.definition && cluster.definition.autoscale) || {};
		var a = arrays.filter(function (x) { return x.name === asArray.value; })[0] || {};
		asEnabled.checked = as.enabled !== undefined ? !!as.enabled : !!cluster.autoscale_enabled;
		var max = a.max_count !== undefined ? a.max_count : (a.MaxCount !== undefined ? a.MaxCount : as.max_count);
		asMax.value = max === undefined || max === null ? '' : String(max);
		var idle = as.idle_time !== undefined ? as.idle_time : (cluster.idle_time !== undefined ? cluster.idle_time : '');
		asIdle.value = idle === '' || idle === null ? '' : String(idle);
	}
	asArray.addEventListener('change', fillAutoscale);
	asForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var max = asMax.value === '' ? undefined : Number(asMax.value);
		var idle = asIdle.value === '' ? undefined : Number(asIdle.value);
		if (max !== undefined && (!Number.isInteger(max) || max < 0)) {
			UI.flash('error', "Max count must be a whole number of 0 or more, not '" + asMax.value + "'."); asMax.focus(); return;
		}
		if (idle !== undefined && (!Number.isInteger(idle) || idle < 0)) {
			UI.flash('error', "Idle time must be a whole number of seconds, not '" + asIdle.value + "'."); asIdle.focus(); return;
		}
		var body = {enabled: asEnabled.checked};
		if (asArray.value) body.array = asArray.value;
		if (max !== undefined) body.max_count = max;
		if (idle !== undefined) body.idle_time = idle;
		API.setAutoscale(name, body).then(function () {
			UI.notice("Autoscale settings of '" + name + "' saved.");
			refresh();
		}, UI.error);
	});
	root.appendChild(asForm);

	/* ---- events ---- */
	var evBody = h('tbody');
	root.appendChild(h('section', {'aria-labelledby': 'ev-title'},
		h('h2', {id: 'ev-title'}, 'Events'),
		h('div', {class: 'scroll short'}, h('table', {class: 'grid', id: 'events'},
			h('caption', {class: 'sr-only'}, "Events of cluster '" + name + "', newest first"),
			h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Time'), h('th', {scope: 'col'}, 'Node'),
				h('th', {scope: 'col'}, 'Kind'), h('th', {scope: 'col'}, 'Message'))),
			evBody))));
	var lastEvents = '';
	function drawEvents(evs) {
		var list = evs.slice().sort(function (a, b) {
			return (Views.eventTime(b) - Views.eventTime(a)) || ((b.id || 0) - (a.id || 0));
		}).slice(0, 200);
		var key = JSON.stringify(list);
		if (key === lastEvents) return;
		lastEvents = key;
		UI.clear(evBody);
		if (!list.length) evBody.appendChild(h('tr', null, h('td', {colspan: 4, class: 'empty'}, 'No events yet.')));
		list.forEach(function (e) {
			evBody.appendChild(h('tr', null, h('td', {class: 'nowrap'}, UI.time(Views.eventTime(e))),
				h('td', null, e.node || ''), h('td', null, e.kind || ''), h('td', null, e.message || '')));
		});
	}

	/* ---- refresh ---- */
	function act(p, msg) { p.then(function () { UI.notice(msg); refresh(); }, UI.error); }

	var busy = false;
	var failures = 0;
	var allEvents = [];
	var lastEventId = 0;
	function refresh() {
		if (busy) return;
		busy = true;
		Promise.all([API.cluster(name), API.nodes(name), API.events(name, lastEventId).catch(function () { return null; })])
			.then(function (r) {
				busy = false;
				if (!ctx.isCurrent()) return;
				failures = 0;
				cluster = r[0] || {};
				nodes = r[1];
				tmplEl.textContent = cluster.template || '';
				UI.clear(stateEl).appendChild(UI.stateBadge(cluster.state));
				drawArrays();
				drawNodes();
				if (r[2] && r[2].length) {
					/* Only the events since the last poll come back: keep the newest 500. */
					allEvents = allEvents.concat(r[2]).slice(-500);
					r[2].forEach(function (e) { if (e.id > lastEventId) lastEventId = e.id; });
					drawEvents(allEvents);
				} else if (r[2] && lastEventId === 0) {
					drawEvents([]);
				}
			}, function (e) {
				busy = false;
				if (!ctx.isCurrent()) return;
				/* Say it once, not every two seconds. */
				if (failures++ === 0) UI.error(e);
			});
	}

	showSelection();
	refresh();
	UI.focusHeading(root);
	var timer = setInterval(refresh, 2000);
	return function () { clearInterval(timer); };
};

Views.eventTime = function (e) {
	var t = e.time_ms || e.ms || e.time || e.timestamp || 0;
	if (typeof t === 'string') t = Date.parse(t);
	else if (t && t < 1e11) t = t * 1000;  /* seconds */
	return t || 0;
};
