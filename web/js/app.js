/*
 * app.js: the GUI's router.  Each view is a function (root, params) that
 * draws into <main> and may return a cleanup function (to stop its polling).
 * Routes are URL fragments (#/clusters, #/cluster/NAME, ...) so stratusd only
 * serves files, and the back button and bookmarks work.
 */
'use strict';

var App = (function () {
	var routes = [
		[/^#\/login$/, 'login', function () { return Views.login; }],
		[/^#\/clusters$/, 'clusters', function () { return Views.clusters; }],
		[/^#\/new(?:\/([^/]+))?$/, 'new', function () { return Views.newCluster; }],
		[/^#\/cluster\/([^/]+)$/, 'clusters', function () { return Views.cluster; }],
		[/^#\/cluster\/([^/]+)\/node\/([^/]+)$/, 'clusters', function () { return Views.node; }],
		[/^#\/bench$/, 'bench', function () { return Views.bench; }],
		[/^#\/pools$/, 'pools', function () { return Views.pools; }]
	];
	var cleanup = null;
	var user = null;
	var seq = 0;

	function go(hash) {
		if (location.hash === hash) render(); else location.hash = hash;
	}

	function showChrome(on) {
		document.getElementById('top').hidden = !on;
		document.getElementById('who-name').textContent = user ? user : '';
	}

	function markNav(name) {
		var links = document.querySelectorAll('[data-nav]');
		for (var i = 0; i < links.length; i++) {
			if (links[i].dataset.nav === name) links[i].setAttribute('aria-current', 'page');
			else links[i].removeAttribute('aria-current');
		}
	}

	function render() {
		var hash = location.hash || '#/clusters';
		if (cleanup) { try { cleanup(); } catch (e) { /* a view's cleanup must not stop the next */ } cleanup = null; }
		var main = document.getElementById('main');
		UI.clear(main);
		var my = ++seq;
		if (!user && hash !== '#/login') {
			sessionStorage.setItem('stratus.after-login', hash);
			go('#/login');
			return;
		}
		for (var i = 0; i < routes.length; i++) {
			var m = routes[i][0].exec(hash);
			if (!m) continue;
			var params = m.slice(1).map(function (x) { return x === undefined ? x : decodeURIComponent(x); });
			showChrome(hash !== '#/login');
			markNav(routes[i][1]);
			var view = routes[i][2]();
			var r = view(main, params, {isCurrent: function () { return my === seq; }});
			if (typeof r === 'function') cleanup = r;
			return;
		}
		main.appendChild(UI.h('h1', null, 'Not found'));
		main.appendChild(UI.h('p', null, 'There is no page at ', UI.h('code', null, hash), '. ',
			UI.h('a', {href: '#/clusters'}, 'Go to the clusters')));
	}

	function loggedIn(name) {
		user = name;
		var next = sessionStorage.getItem('stratus.after-login');
		sessionStorage.removeItem('stratus.after-login');
		go(next && next !== '#/login' ? next : '#/clusters');
	}

	function loggedOut(msg) {
		user = null;
		API.forget();
		showChrome(false);
		go('#/login');
		if (msg) UI.flash('error', msg);
	}

	function start() {
		API.setUnauthorizedHandler(function () {
			if (user) loggedOut('Your session has ended (logged out or stratusd restarted): log in again.');
		});
		document.getElementById('logout').addEventListener('click', function () {
			API.logout().then(function () {
				loggedOut(null);
				UI.notice('Logged out.');
			}, function (e) { loggedOut(null); UI.error(e); });
		});
		window.addEventListener('hashchange', function () { UI.flash(null, null); render(); });
		/* A session cookie may already be there (a reload): ask who we are. */
		API.whoami().then(function (s) {
			user = s.username || s.user || '?';
			render();
		}, function () {
			user = null;
			render();
		});
	}

	return {start: start, go: go, loggedIn: loggedIn, user: function () { return user; }};
})();

var Views = window.Views || {};
document.addEventListener('DOMContentLoaded', App.start);
