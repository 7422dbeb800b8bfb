/*
 * views/new-cluster.js: create a cluster from an imported template.  The form
 * is generated from the template's [parameters] (GET /api/v1/templates/NAME:
 * name, section, type, label, description, default, choices, required);
 * values are checked against their types here before anything is sent, and
 * stratusd checks them again.
 */
'use strict';

var Views = window.Views || (window.Views = {});

/* Turn one field's text into the JSON value its type wants, or throw an
 * Error saying what is wrong with it. */
Views.paramValue = function (p, el) {
	var type = String(p.type || 'String').toLowerCase();
	var label = p.label || p.name;
	if (type === 'boolean') return el.checked;
	var text = el.value.trim();
	if (text === '') {
		if (p.required) throw new Error("'" + label + "' is required");
		return undefined;
	}
	if (type === 'integer' || type === 'int') {
		if (!/^-?\d+$/.test(text)) throw new Error("'" + label + "' must be a whole number, not '" + text + "'");
		var n = Number(text);
		if (!Number.isSafeInteger(n)) throw new Error("'" + label + "' is too large");
		if (p.min !== undefined && n < p.min) throw new Error("'" + label + "' must be at least " + p.min);
		if (p.max !== undefined && n > p.max) throw new Error("'" + label + "' must be at most " + p.max);
		return n;
	}
	if (type === 'number' || type === 'float' || type === 'double') {
		var f = Number(text);
		if (!isFinite(f)) throw new Error("'" + label + "' must be a number, not '" + text + "'");
		return f;
	}
	if (type === 'stringlist') {
		return text.split(',').map(function (s) { return s.trim(); }).filter(function (s) { return s; });
	}
	return text;
};

Views.CLUSTER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

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
		var def = p.default !== undefined ? p.default : p.default_value;
		var descId = p.description ? id + '-help' : null;
		var el;
		var choices = Array.isArray(p.choices) ? p.choices : [];
		if (type === 'boolean') {
			el = h('input', {id: id, type: 'checkbox', name: p.name, checked: def === true || def === 'true',
				'aria-describedby': descId});
			return [el, h('div', {class: 'field check'}, el, h('label', {for: id}, p.label || p.name),
				p.description ? h('p', {id: descId, class: 'help'}, p.description) : null)];
		}
		if (choices.length) {
			el = h('select', {id: id, name: p.name, 'aria-describedby': descId, required: !!p.required});
			if (!p.required) el.appendChild(h('option', {value: ''}, '(none)'));
			choices.forEach(function (c) {
				var v = typeof c === 'object' ? c.value : c;
				var l = typeof c === 'object' ? (c.label || c.value) : c;
				el.appendChild(h('option', {value: String(v), selected: def !== undefined && String(def) === String(v)}, String(l)));
			});
		} else {
			var attrs = {id: id, name: p.name, 'aria-describedby': descId, required: !!p.required,
				autocomplete: 'off', value: def === undefined || def === null ? '' :
					(Array.isArray(def) ? def.join(', ') : String(def))};
			if (type === 'integer' || type === 'int') { attrs.inputmode = 'numeric'; }
			el = h('input', attrs);
		}
		return [el, h('div', {class: 'field'},
			h('label', {for: id}, (p.label || p.name) + (p.required ? ' (required)' : '')),
			el,
			p.description ? h('p', {id: descId, class: 'help'}, p.description) : null,
			h('p', {class: 'help muted'}, 'Parameter ', h('code', null, p.name), ', ',
				String(p.type || 'String'), type === 'stringlist' ? ', comma-separated' : ''))];
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
			var s = p.section || 'Parameters';
			if (!sections[s]) { sections[s] = []; order.push(s); }
			sections[s].push(p);
		});
		var i = 0;
		order.forEach(function (s) {
			var fs = h('fieldset', null, h('legend', null, s));
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

	API.templates().then(function (ts) {
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
