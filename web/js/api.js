/*
 * api.js: every call the GUI makes to stratusd's REST API (docs/api.md), in
 * one place.  The browser is authenticated by its session cookie (HttpOnly,
 * so scripts never see it); every request that changes state carries the
 * session's CSRF token in X-CSRF-Token, which stratusd checks.  Errors come
 * back as Error objects whose message is the API's own sentence.
 */
'use strict';

var API = (function () {
	var BASE = 'api/v1';
	var csrf = null;          /* the session's CSRF token, from login or GET session */
	var onUnauthorized = null;

	function enc(s) { return encodeURIComponent(s); }

	/* The message a person reads for a failed call: the API's "error" text
	 * when it sent one, else what the status means. */
	function messageFor(status, body, what) {
		if (body && typeof body === 'object' && typeof body.error === 'string' && body.error)
			return body.error;
		if (typeof body === 'string' && body.trim() && body.length < 500 && body.indexOf('<') < 0)
			return body.trim();
		var words = {400: 'the request was refused as malformed', 401: 'you are not logged in',
			403: 'this is not allowed', 404: 'it does not exist (any more)',
			409: 'it is in a state that does not allow this', 413: 'the request is too large',
			500: 'stratusd failed; see its log', 503: 'stratusd is busy; try again'};
		return what + ' failed: ' + (words[status] || 'HTTP status ' + status);
	}

	/* call(method, path, body, what): resolves to the parsed JSON (or null
	 * for 204), rejects with an Error saying what failed. */
	function call(method, path, body, what) {
		var headers = {'Accept': 'application/json'};
		var opts = {method: method, headers: headers, credentials: 'same-origin', cache: 'no-store'};
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			opts.body = JSON.stringify(body);
		}
		if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
		/* Reads are retried once when the request never got an answer: the
		 * browser drops requests in flight when the host's network changes,
		 * which it does each time stratusd makes a node's bridge or veth. */
		var send = function () { return fetch(BASE + path, opts); };
		var first = (method === 'GET') ? send().catch(function () {
			return new Promise(function (res) { setTimeout(res, 300); }).then(send);
		}) : send();
		return first.then(function (r) {
			return r.text().then(function (text) {
				var data = null;
				if (text) {
					try { data = JSON.parse(text); } catch (e) { data = text; }
				}
				if (r.ok) return data;
				var err = new Error(messageFor(r.status, data, what || (method + ' ' + path)));
				err.status = r.status;
				err.body = data;
				if (r.status === 401 && onUnauthorized && path !== '/session') onUnauthorized(err);
				throw err;
			});
		}, function (e) {
			throw new Error((what || 'the request') + ' failed: cannot reach stratusd (' + e.message +
				'); is it running?');
		});
	}

	function list(data, key) {
		if (Array.isArray(data)) return data;
		if (data && Array.isArray(data[key])) return data[key];
		return [];
	}

	return {
		setUnauthorizedHandler: function (f) { onUnauthorized = f; },
		hasSession: function () { return csrf !== null; },

		/* Sessions (src/manager/session.c). */
		login: function (user, password) {
			return call('POST', '/session', {username: user, password: password}, 'logging in')
				.then(function (s) { csrf = s.csrf_token; return s; });
		},
		whoami: function () {
			return call('GET', '/session', undefined, 'checking the session')
				.then(function (s) { csrf = s.csrf_token; return s; });
		},
		logout: function () {
			return call('DELETE', '/session', undefined, 'logging out')
				.then(function () { csrf = null; }, function (e) { csrf = null; throw e; });
		},
		forget: function () { csrf = null; },

		/* Templates. */
		templates: function () {
			return call('GET', '/templates', undefined, 'listing templates')
				.then(function (d) { return list(d, 'templates'); });
		},
		/* {"name","sections":[...],"parameters":[{"name","section","type","label",
		 *  "description","default","required","choices","free_form","min","max"}]} */
		template: function (name) {
			return call('GET', '/templates/' + enc(name) + '/parameters', undefined,
				"reading the parameters of template '" + name + "'");
		},

		/* Clusters. */
		clusters: function () {
			return call('GET', '/clusters', undefined, 'listing clusters')
				.then(function (d) { return list(d, 'clusters'); });
		},
		cluster: function (name) {
			return call('GET', '/clusters/' + enc(name), undefined, "reading cluster '" + name + "'");
		},
		createCluster: function (template, name, params) {
			return call('POST', '/clusters', {name: name, template: template, parameters: params},
				"creating cluster '" + name + "'");
		},
		startCluster: function (name) {
			return call('POST', '/clusters/' + enc(name) + '/start', {}, "starting cluster '" + name + "'");
		},
		terminateCluster: function (name) {
			return call('POST', '/clusters/' + enc(name) + '/terminate', {},
				"terminating cluster '" + name + "'");
		},
		deleteCluster: function (name) {
			return call('DELETE', '/clusters/' + enc(name), undefined, "deleting cluster '" + name + "'");
		},
		setAutoscale: function (name, settings) {
			return call('PUT', '/clusters/' + enc(name) + '/autoscale', settings,
				"changing the autoscale settings of '" + name + "'");
		},
		/* Events with an id above since (all when since is 0), oldest first. */
		events: function (name, since) {
			return call('GET', '/clusters/' + enc(name) + '/events' + (since ? '?since=' + enc(since) : ''), undefined,
				"reading the events of '" + name + "'").then(function (d) { return list(d, 'events'); });
		},

		/* Nodes. */
		nodes: function (cluster) {
			return call('GET', '/clusters/' + enc(cluster) + '/nodes', undefined,
				"listing the nodes of '" + cluster + "'").then(function (d) { return list(d, 'nodes'); });
		},
		addNodes: function (cluster, template, count) {
			return call('POST', '/clusters/' + enc(cluster) + '/nodes', {template: template, count: count},
				"adding " + count + " '" + template + "' nodes to '" + cluster + "'");
		},
		terminateNodes: function (cluster, names, force) {
			return call('POST', '/clusters/' + enc(cluster) + '/nodes/terminate', {nodes: names, force: !!force},
				'terminating ' + names.join(', '));
		},
		removeNodes: function (cluster, names, force) {
			return call('POST', '/clusters/' + enc(cluster) + '/nodes/remove', {nodes: names, force: !!force},
				'removing ' + names.join(', '));
		},
		retryNodes: function (cluster, names) {
			return call('POST', '/clusters/' + enc(cluster) + '/retry', {nodes: names},
				'retrying ' + (names.length ? names.join(', ') : "the failed nodes of '" + cluster + "'"));
		},
		/* The node with its "scripts" (cluster-init logs) and "events". */
		node: function (cluster, node) {
			return call('GET', '/clusters/' + enc(cluster) + '/nodes/' + enc(node), undefined,
				"reading node '" + node + "'");
		},

		/* Benchmarks (stratus bench results). */
		benchRuns: function () {
			return call('GET', '/bench', undefined, 'reading benchmark results')
				.then(function (d) { return list(d, 'runs'); });
		},

		/* Host pools (docs/ssh-provider.md).  Host records never hold the
		 * private key: the API does not send it. */
		pools: function () {
			return call('GET', '/pools', undefined, 'listing the host pools')
				.then(function (d) { return list(d, 'pools'); });
		},
		createPool: function (name) {
			return call('POST', '/pools', {name: name}, "creating pool '" + name + "'");
		},
		hosts: function () {
			return call('GET', '/hosts', undefined, 'listing the pool hosts')
				.then(function (d) { return list(d, 'hosts'); });
		},
		/* h: {name, address, user, port, private_key, machine_type}. */
		addHost: function (pool, h) {
			return call('POST', '/pools/' + enc(pool) + '/hosts', h,
				"registering host '" + h.name + "' in pool '" + pool + "'");
		},
		clearHost: function (name) {
			return call('POST', '/hosts/' + enc(name) + '/clear', {}, "clearing host '" + name + "'");
		},
		removeHost: function (name) {
			return call('DELETE', '/hosts/' + enc(name), undefined, "removing host '" + name + "'");
		},

		/* For the tests and the curious: the raw call. */
		call: call
	};
})();
