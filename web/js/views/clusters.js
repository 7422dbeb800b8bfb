/*
 * views/clusters.js: every cluster with its template, state and node counts
 * by state; start, terminate and delete.  Refreshes itself every few seconds.
 */
'use strict';

var Views = window.Views || (window.Views = {});

/* Node counts by state from whatever the API gave for a cluster: a
 * "node_counts" object, or its node list. */
Views.countNodes = function (c, nodes) {
	if (c && c.node_counts && typeof c.node_counts === 'object') return c.node_counts;
	var counts = {};
	(nodes || (c && Array.isArray(c.nodes) ? c.nodes : [])).forEach(function (n) {
		var s = n.state || 'Unknown';
		counts[s] = (counts[s] || 0) + 1;
	});
	return counts;
};

Views.countsText = function (counts) {
	var order = ['Ready', 'Acquiring', 'Preparing', 'Failed', 'Terminating', 'Off'];
	var keys = Object.keys(counts).sort(function (a, b) {
		var ia = order.indexOf(a), ib = order.indexOf(b);
		return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
	});
	if (!keys.length) return 'no nodes';
	return keys.map(function (k) { return counts[k] + ' ' + k; }).join(', ');
};

Views.clusters = function (root, params, ctx) {
	var h = UI.h;
	var body = h('tbody');
	var empty = h('p', {class: 'empty', hidden: true}, 'No clusters yet. ',
		h('a', {href: '#/new'}, 'Create one from a template'), '.');
	root.appendChild(h('div', {class: 'page-head'},
		h('h1', null, 'Clusters'),
		h('a', {class: 'button primary', href: '#/new'}, 'New cluster')));
	root.appendChild(h('table', {class: 'grid', id: 'clusters'},
		h('caption', {class: 'sr-only'}, 'Clusters, their templates, states and nodes'),
		h('thead', null, h('tr', null,
			h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col'}, 'Template'),
			h('th', {scope: 'col'}, 'State'), h('th', {scope: 'col'}, 'Nodes'),
			h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
		body));
	root.appendChild(empty);

	function act(promise, done) {
		promise.then(function () { UI.notice(done); refresh(); }, UI.error);
	}

	function row(c) {
		var name = c.name;
		var counts = Views.countNodes(c, c._nodes);
		var state = c.state || '';
		return h('tr', {dataset: {cluster: name}},
			h('th', {scope: 'row'}, h('a', {href: '#/cluster/' + encodeURIComponent(name)}, name)),
			h('td', null, c.template || ''),
			h('td', {class: 'state'}, UI.stateBadge(state)),
			h('td', {class: 'counts'}, Views.countsText(counts)),
			h('td', {class: 'actions'},
				h('button', {type: 'button', 'aria-label': "Start cluster '" + name + "'",
					onclick: function () { act(API.startCluster(name), "Cluster '" + name + "' is starting."); }}, 'Start'),
				h('button', {type: 'button', 'aria-label': "Terminate cluster '" + name + "'",
					onclick: function () {
						if (UI.confirmAction("Terminate every node of cluster '" + name + "'? Their local disks are lost."))
							act(API.terminateCluster(name), "Cluster '" + name + "' is terminating.");
					}}, 'Terminate'),
				h('button', {type: 'button', class: 'danger', 'aria-label': "Delete cluster '" + name + "'",
					onclick: function () {
						if (UI.confirmAction("Delete cluster '" + name + "' and its records? It must be terminated first."))
							act(API.deleteCluster(name), "Cluster '" + name + "' deleted.");
					}}, 'Delete')));
	}

	function refresh() {
		return API.clusters().then(function (cs) {
			/* Clusters whose listing has no counts: ask for their nodes. */
			return Promise.all(cs.map(function (c) {
				if (c.node_counts || Array.isArray(c.nodes)) return c;
				return API.nodes(c.name).then(function (ns) { c._nodes = ns; return c; },
					function () { return c; });
			}));
		}).then(function (cs) {
			if (!ctx.isCurrent()) return;
			/* Keep the focused button focused across the redraw. */
			var active = document.activeElement;
			var label = active && active.getAttribute && active.getAttribute('aria-label');
			UI.clear(body);
			cs.forEach(function (c) { body.appendChild(row(c)); });
			empty.hidden = cs.length !== 0;
			if (label) {
				var again = body.querySelector('[aria-label="' + label.replace(/"/g, '\\"') + '"]');
				if (again) again.focus();
			}
		}, function (e) { if (ctx.isCurrent()) UI.error(e); });
	}

	refresh();
	UI.focusHeading(root);
	var timer = setInterval(refresh, 3000);
	return function () { clearInterval(timer); };
};
