/*
 * views/new-cluster.js: create a cluster from an imported template.  The form
 * is generated from the template's [parameters] (GET /api/v1/templates/NAME:
 * name, section, type, label, description, default, choices, required);
 * values are checked against their types here before anything is sent, and
 * stratusd checks them again.
 */
'use strict';

var Views = window.Views || (window.Views = {});

function present(v) { return v !== undefined && v !== null; }

/* Turn one field's text into the JSON value its type wants, or throw an
 * Error saying what is wrong with it.  Types are liblang's: String, Integer,
 * Number, Boolean, StringList (one of its choices unless free_form), Record. */
Views.paramValue = function (p, el) {
	var type = String(p.type || 'String').toLowerCase();
	var label = p.label || p.name;
	if (type === 'boolean') return el.checked;
	var text = el.value.trim();
	if (text === '') {
		if (p.required && !present(p.default)) throw new Error("'" + label + "' is required");
		return undefined;
	}
	if (type === 'integer') {
		if (!/^-?\d+$/.test(text)) throw new Error("'" + label + "' must be a whole number, not '" + text + "'");
		var n = Number(text);
		if (!Number.isSafeInteger(n)) throw new Error("'" + label + "' is too large");
		if (present(p.min) && n < p.min) throw new Error("'" + label + "' must be at least " + p.min + ", not " + n);
		if (present(p.max) && n > p.max) throw new Error("'" + label + "' must be at most " + p.max + ", not " + n);
		return n;
	}
	if (type === 'number') {
		var f = Number(text);
		if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || !isFinite(f))
			throw new Error("'" + label + "' must be a number, not '" + text + "'");
		if (present(p.min) && f < p.min) throw new Error("'" + label + "' must be at least " + p.min);
		if (present(p.max) && f > p.max) throw new Error("'" + label + "' must be at most " + p.max);
		return f;
	}
	if (type === 'stringlist' && Array.isArray(p.choices) && p.choices.length && !p.free_form) {
		var ok = p.choices.some(function (c) { return String(c && typeof c === 'object' ? c.value : c) === text; });
		if (!ok) throw new Error("'" + label + "' must be one of its choices, not '" + text + "'");
	}
	if (type === 'record') {
		var o;
		try { o = JSON.parse(text); } catch (e) { throw new Error("'" + label + "' must be a JSON object: " + e.message); }
		if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error("'" + label + "' must be a JSON object");
		return o;
	}
	return text;
};

Views.CLUSTER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/* The parameter a template's `Pool = $X` reads: the shipped templates call it
 * HostPool (docs/ssh-provider.md); any string parameter whose name ends in
 * "Pool" is offered the same way. */
Views.isPoolParam = function (p) {
	return /Pool$/.test(String(p.name || '')) && String(p.type || 'String').toLowerCase() === 'string';
};

Views.newCluster = function (root, params, ctx) {
	var h = UI.h;
	var wanted = params[0];
	var tmplSelect = h('select', {id: 'nc-template', name: 'template', required: true});
	var nameInput = h('input', {id: 'nc-name', name: 'name', required: true, autocomplete: 'off',
		spellcheck: 'false', 'aria-describedby': 'nc-name-help', pattern: '[A-Za-z][A-Za-z0-9-]{0,39}'});
	var paramBox = h('div', {id: 'nc-params'});
	var errBox = h('div', {id: 'nc-error', class: 'form-error', role: 'alert', hidden: true});
	var submit = h('button', {type: 'submit', class: 'primary'}, 'Create cluster');
	var fields = [];   /* [param, element] */
	var pools = null;  /* the host pools, for a pool parameter (null: none known) */

	var form = h('form', {class: 'card wide', id: 'new-cluster', novalidate: true},
		h('div', {class: 'field'}, h('label', {for: 'nc-template'}, 'Template'), tmplSelect),
		h('div', {class: 'field'}, h('label', {for: 'nc-name'}, 'Cluster name'), nameInput,
			h('p', {id: 'nc-name-help', class: 'help'},
				'Letters, digits and hyphens, starting with a letter. Node names are made from it, e.g. NAME-execute-1.')),
		paramBox, errBox,
		h('div', {class: 'actions'}, submit, ' ', h('a', {href: '#/clusters'}, 'Cancel')));
	root.appendChild(h('h1', null, 'New cluster'));
	root.appendChild(form);

	function fieldFor(p, i) {
		var id = 'p-' + i;
		var type = String(p.type || 'String').toLowerCase();
		var def = present(p.default) ? p.default : undefined;
		var descId = p.description ? id + '-help' : null;
		var label = p.label || p.name;
		var el;
		var choices = Array.isArray(p.choices) ? p.choices : [];
		function cv(c) { return String(c && typeof c === 'object' ? c.value : c); }
		function cl(c) { return String(c && typeof c === 'object' ? (present(c.label) ? c.label : c.value) : c); }
		if (type === 'boolean') {
			el = h('input', {id: id, type: 'checkbox', name: p.name, checked: def === true || def === 'true',
				'aria-describedby': descId});
			return [el, h('div', {class: 'field check'}, el, h('label', {for: id}, label),
				p.description ? h('p', {id: descId, class: 'help'}, p.description) : null)];
		}
		var extra = null;
		if (Views.isPoolParam(p) && pools) {
			/* Where the nodes run: this host, or a host pool (docs/ssh-provider.md). */
			el = h('select', {id: id, name: p.name, 'aria-describedby': descId, class: 'pool-param'});
			var cur = def === undefined ? 'none' : String(def);
			el.appendChild(h('option', {value: 'none', selected: cur === 'none'}, 'none: nodes on this host (local provider)'));
			pools.forEach(function (pl) {
				el.appendChild(h('option', {value: pl.name, selected: cur === pl.name},
					'pool ' + pl.name + ' (' + pl.free + ' of ' + pl.hosts + ' hosts free)'));
			});
			if (cur !== 'none' && !pools.some(function (pl) { return pl.name === cur; }))
				el.appendChild(h('option', {value: cur, selected: true}, cur + ' (no such pool yet)'));
		} else if (choices.length && !p.free_form) {
			el = h('select', {id: id, name: p.name, 'aria-describedby': descId, required: !!p.required});
			if (!p.required || def === undefined) el.appendChild(h('option', {value: ''}, p.required ? 'Choose one' : '(none)'));
			choices.forEach(function (c) {
				el.appendChild(h('option', {value: cv(c), selected: def !== undefined && String(def) === cv(c)}, cl(c)));
			});
		} else {
			var attrs = {id: id, name: p.name, 'aria-describedby': descId, required: !!p.required,
				autocomplete: 'off', spellcheck: 'false',
				value: def === undefined ? '' : (typeof def === 'object' ? JSON.stringify(def) : String(def))};
			if (type === 'integer') attrs.inputmode = 'numeric';
			if (type === 'number') attrs.inputmode = 'decimal';
			if (choices.length) {
				attrs.list = id + '-choices';
				extra = h('datalist', {id: id + '-choices'}, choices.map(function (c) {
					return h('option', {value: cv(c)}, cl(c));
				}));
			}
			el = h('input', attrs);
		}
		var range = present(p.min) || present(p.max) ?
			' from ' + (present(p.min) ? p.min : '\u2212\u221e') + ' to ' + (present(p.max) ? p.max : '\u221e') : '';
		return [el, h('div', {class: 'field'},
			h('label', {for: id}, label + (p.required ? ' (required)' : '')),
			el, extra,
			p.description ? h('p', {id: descId, class: 'help'}, p.description) : null,
			h('p', {class: 'help muted'}, 'Parameter ', h('code', null, p.name), ': ',
				String(p.type_name || p.type || 'String'), range,
				type === 'record' ? ' (a JSON object)' : ''))];
	}

	/* Section titles: their Label if the template gives one. */
	function sectionTitle(t, name) {
		var ss = Array.isArray(t.sections) ? t.sections : [];
		for (var k = 0; k < ss.length; k++) if (ss[k].name === name && ss[k].label) return ss[k].label;
		return name;
	}

	function showParams(t) {
		UI.clear(paramBox);
		fields = [];
		var ps = Array.isArray(t.parameters) ? t.parameters : [];
		if (!ps.length) {
			paramBox.appendChild(h('p', {class: 'help'}, "Template '" + t.name + "' has no parameters."));
			return;
		}
		var sections = {};
		var order = [];
		ps.forEach(function (p) {
			var s = p.subsection || p.section || 'Parameters';
			if (!sections[s]) { sections[s] = []; order.push(s); }
			sections[s].push(p);
		});
		var i = 0;
		order.forEach(function (s) {
			var fs = h('fieldset', null, h('legend', null, sectionTitle(t, s)));
			sections[s].forEach(function (p) {
				var made = fieldFor(p, i++);
				fields.push([p, made[0]]);
				fs.appendChild(made[1]);
			});
			paramBox.appendChild(fs);
		});
	}

	function loadTemplate(name) {
		if (!name) { UI.clear(paramBox); return; }
		API.template(name).then(function (t) {
			if (!ctx.isCurrent()) return;
			if (!t.name) t.name = name;
			showParams(t);
		}, UI.error);
	}

	tmplSelect.addEventListener('change', function () { loadTemplate(tmplSelect.value); });

	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		errBox.hidden = true;
		var problems = [];
		var firstBad = null;
		var name = nameInput.value.trim();
		nameInput.removeAttribute('aria-invalid');
		if (!Views.CLUSTER_NAME.test(name)) {
			problems.push(name ? "cluster name '" + name + "' may hold only letters, digits and hyphens, start with a letter, and be at most 40 long"
				: 'enter a name for the cluster');
			nameInput.setAttribute('aria-invalid', 'true');
			firstBad = nameInput;
		}
		if (!tmplSelect.value) { problems.push('pick a template'); firstBad = firstBad || tmplSelect; }
		var values = {};
		fields.forEach(function (f) {
			f[1].removeAttribute('aria-invalid');
			try {
				var v = Views.paramValue(f[0], f[1]);
				if (v !== undefined) values[f[0].name] = v;
			} catch (e) {
				problems.push(e.message);
				f[1].setAttribute('aria-invalid', 'true');
				firstBad = firstBad || f[1];
			}
		});
		if (problems.length) {
			UI.clear(errBox);
			errBox.appendChild(h('p', null, 'Please fix:'));
			errBox.appendChild(h('ul', null, problems.map(function (p) { return h('li', null, p); })));
			errBox.hidden = false;
			if (firstBad) firstBad.focus();
			return;
		}
		submit.disabled = true;
		API.createCluster(tmplSelect.value, name, values).then(function () {
			UI.notice("Cluster '" + name + "' created. Start it to bring its nodes up.");
			App.go('#/cluster/' + encodeURIComponent(name));
		}, function (e) {
			submit.disabled = false;
			UI.clear(errBox);
			errBox.appendChild(h('p', null, e.message));
			errBox.hidden = false;
			errBox.focus && errBox.setAttribute('tabindex', '-1');
			errBox.focus();
		});
	});

	/* Pools first (a stratusd without them answers 503: plain text fields then). */
	API.pools().then(function (ps) { pools = ps; }, function () { pools = null; }).then(function () {
		return API.templates();
	}).then(function (ts) {
		if (!ctx.isCurrent()) return;
		if (!ts.length) {
			UI.clear(form);
			form.appendChild(h('p', null, 'No templates are imported yet. Import one with ',
				h('code', null, 'stratus import_template NAME -f FILE'), ', then come back.'));
			return;
		}
		tmplSelect.appendChild(h('option', {value: ''}, 'Choose a template'));
		ts.forEach(function (t) {
			var n = typeof t === 'string' ? t : t.name;
			tmplSelect.appendChild(h('option', {value: n, selected: n === wanted}, n));
		});
		if (wanted) loadTemplate(wanted);
		else if (ts.length === 1) {
			tmplSelect.value = typeof ts[0] === 'string' ? ts[0] : ts[0].name;
			loadTemplate(tmplSelect.value);
		}
	}, UI.error);
	UI.focusHeading(root);
};
