/*
 * ui.js: the small DOM toolkit every view uses: element building without
 * innerHTML (API text is never parsed as HTML), error and notice banners,
 * time and size formatting, and confirmation of dangerous actions.
 */
'use strict';

var UI = (function () {
	/* h('p', {class: 'x', onclick: f}, 'text', child...): a new element.
	 * Strings become text nodes; null/false children are skipped. */
	function h(tag, attrs) {
		var el = document.createElement(tag);
		if (attrs) {
			Object.keys(attrs).forEach(function (k) {
				var v = attrs[k];
				if (v === null || v === undefined || v === false) return;
				if (k.slice(0, 2) === 'on' && typeof v === 'function') {
					el.addEventListener(k.slice(2), v);
				} else if (k === 'class') {
					el.className = v;
				} else if (k === 'text') {
					el.textContent = v;
				} else if (k === 'dataset') {
					Object.keys(v).forEach(function (d) { el.dataset[d] = v[d]; });
				} else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
					el[k] = v;
				} else {
					el.setAttribute(k, v === true ? '' : String(v));
				}
			});
		}
		for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
		return el;
	}

	function append(el, c) {
		if (c === null || c === undefined || c === false) return;
		if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
		el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
	}

	function clear(el) {
		while (el.firstChild) el.removeChild(el.firstChild);
		return el;
	}

	/* The banner at the top: errors stay until dismissed or the next action;
	 * notices go away by themselves. */
	var flashTimer = null;
	function flash(kind, msg) {
		var f = document.getElementById('flash');
		clear(f);
		if (flashTimer) { clearTimeout(flashTimer); flashTimer = null; }
		if (!msg) { f.hidden = true; return; }
		f.className = 'flash flash-' + kind;
		f.appendChild(h('span', {class: 'flash-text'}, msg));
		f.appendChild(h('button', {type: 'button', class: 'link', 'aria-label': 'Dismiss message',
			onclick: function () { flash(null, null); }}, '\u00d7'));
		f.hidden = false;
		if (kind === 'ok') flashTimer = setTimeout(function () { flash(null, null); }, 6000);
	}
	function error(e) {
		flash('error', e && e.message ? e.message : String(e));
	}
	function notice(msg) { flash('ok', msg); }

	/* "3 s", "4 min 2 s", "2 h 5 min", "3 d 4 h". */
	function duration(ms) {
		if (ms === null || ms === undefined || isNaN(ms)) return '';
		if (ms < 0) ms = 0;
		var s = Math.floor(ms / 1000);
		if (s < 60) return s + ' s';
		var m = Math.floor(s / 60);
		if (m < 60) return m + ' min ' + (s % 60) + ' s';
		var hr = Math.floor(m / 60);
		if (hr < 24) return hr + ' h ' + (m % 60) + ' min';
		return Math.floor(hr / 24) + ' d ' + (hr % 24) + ' h';
	}
	/* Milliseconds, for script runtimes: "850 ms", "12.3 s". */
	function shortDuration(ms) {
		if (ms === null || ms === undefined || isNaN(ms)) return '';
		if (ms < 1000) return Math.round(ms) + ' ms';
		if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
		return duration(ms);
	}
	function pad(n) { return n < 10 ? '0' + n : String(n); }
	/* Local time, to the second: "2024-05-01 14:03:22". */
	function time(ms) {
		if (!ms) return '';
		var d = new Date(ms);
		return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
			pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
	}

	/* A state as a badge whose colour says good/busy/bad, with the word in it
	 * (colour is never the only signal). */
	function stateBadge(state) {
		var s = String(state || 'Unknown');
		var cls = 'badge state-' + s.toLowerCase().replace(/[^a-z]/g, '');
		return h('span', {class: cls}, s);
	}

	/* Ask before doing something that cannot be undone. */
	function confirmAction(msg) { return window.confirm(msg); }

	/* Put the keyboard focus on a view's heading so screen readers announce
	 * the new page and Tab starts from the top of it. */
	function focusHeading(root) {
		var hd = root.querySelector('h1');
		if (hd) { hd.setAttribute('tabindex', '-1'); hd.focus(); }
	}

	return {h: h, append: append, clear: clear, flash: flash, error: error, notice: notice,
		duration: duration, shortDuration: shortDuration, time: time, stateBadge: stateBadge,
		confirmAction: confirmAction, focusHeading: focusHeading};
})();
