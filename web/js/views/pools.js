/*
 * views/pools.js: host pools (docs/ssh-provider.md): every pool with its
 * hosts (state, whether it answers ssh, the last error, the node using it,
 * the cores, memory and OS found at registration, the host key's
 * fingerprint), registering a host, clearing an unclean host, removing a
 * host, making a pool.  The private key of a host is read from a file the
 * operator picks and sent once; it is never drawn on the page, and the API
 * never sends it back.  The tables refresh every few seconds; the forms are
 * left alone.
 */
'use strict';

var Views = window.Views || (window.Views = {});

Views.pools = function (root, params, ctx) {
	var h = UI.h;
	var listBox = h('div', {id: 'pool-list'});
	var empty = h('p', {class: 'empty', hidden: true}, 'No host pools yet. Make one below, then register its machines.');
	var poolSelect = h('select', {id: 'ph-pool', name: 'pool', required: true});
	var result = h('div', {id: 'ph-result', class: 'card', role: 'status', hidden: true});

	root.appendChild(h('div', {class: 'page-head'}, h('h1', null, 'Pools')));
	root.appendChild(h('p', {class: 'sub'}, 'Machines that already exist, reached over SSH. A cluster whose ',
		h('code', null, 'HostPool'), ' parameter names a pool takes one machine of it per node; ',
		'terminating the node gives the machine back clean.'));
	root.appendChild(listBox);
	root.appendChild(empty);

	function act(promise, done) {
		return promise.then(function (r) { UI.notice(done); refresh(); return r; }, function (e) { UI.error(e); refresh(); });
	}

	function found(x) {
		var parts = [];
		if (x.found_cores) parts.push(x.found_cores + (x.found_cores === 1 ? ' core' : ' cores'));
		if (x.found_memory_mb) parts.push(x.found_memory_mb + ' MiB');
		if (x.os) parts.push(x.os);
		if (x.arch) parts.push(x.arch);
		return parts.join(', ');
	}

	function hostRow(x) {
		var name = x.name;
		var reachable = x.reachable === 1 || x.reachable === true;
		var actions = [];
		if (x.state === 'unclean') {
			actions.push(h('button', {type: 'button', 'aria-label': "Clear host '" + name + "'",
				onclick: function (ev) {
					if (!UI.confirmAction("Clean host '" + name + "' over SSH (stop what Stratus left there, remove " +
						'its files) and give it back to its pool?')) return;
					ev.target.disabled = true;
					UI.notice("Cleaning host '" + name + "' over SSH\u2026");
					act(API.clearHost(name), "Host '" + name + "' is clean and free again.");
				}}, 'Clear'));
		}
		if (x.state !== 'busy') {
			actions.push(h('button', {type: 'button', class: 'danger', 'aria-label': "Remove host '" + name + "'",
				onclick: function () {
					if (!UI.confirmAction("Remove host '" + name + "' from pool '" + x.pool + "'? Its key and " +
						'recorded host key are forgotten.')) return;
					act(API.removeHost(name), "Host '" + name + "' removed.");
				}}, 'Remove'));
		}
		return h('tr', {dataset: {host: name}},
			h('th', {scope: 'row'}, name),
			h('td', {class: 'mono'}, x.address + (x.port && x.port !== 22 ? ':' + x.port : ''),
				h('div', {class: 'muted'}, x.user || 'root')),
			h('td', {class: 'state'}, UI.stateBadge(x.state),
				x.reason ? h('div', {class: 'reason'}, x.reason) : null),
			h('td', {class: 'reach'}, reachable ? 'yes' : 'no',
				x.last_ok ? h('div', {class: 'muted'}, 'answered ' + UI.time(x.last_ok)) : null,
				x.last_error ? h('div', {class: 'reason'}, x.last_error) : null),
			h('td', {class: 'node'}, x.node || '\u2014'),
			h('td', {class: 'found'}, found(x), x.machine_type ? h('div', {class: 'muted'}, x.machine_type) : null),
			h('td', {class: 'fingerprint mono'}, x.host_key_fingerprint || '\u2014'),
			h('td', {class: 'row-actions'}, actions));
	}

	function poolSection(p, hosts) {
		var body = h('tbody');
		hosts.forEach(function (x) { body.appendChild(hostRow(x)); });
		return h('section', {class: 'pool', dataset: {pool: p.name}, 'aria-labelledby': 'pool-' + p.name},
			h('h2', {id: 'pool-' + p.name}, p.name),
			h('p', {class: 'sub'}, p.hosts + (p.hosts === 1 ? ' host: ' : ' hosts: ') + p.free + ' free, ' +
				p.busy + ' busy, ' + p.unclean + ' unclean. Installs into ', h('code', null, p.install_dir),
				'; checks every ' + UI.shortDuration(p.probe_interval_ms) + ', a silent host fails its node after ' +
				UI.shortDuration(p.fail_after_ms) + '.'),
			hosts.length ? h('div', {class: 'scroll'}, h('table', {class: 'grid hosts'},
				h('caption', {class: 'sr-only'}, "Hosts of pool '" + p.name + "'"),
				h('thead', null, h('tr', null,
					h('th', {scope: 'col'}, 'Host'), h('th', {scope: 'col'}, 'Address'),
					h('th', {scope: 'col'}, 'State'), h('th', {scope: 'col'}, 'Reachable'),
					h('th', {scope: 'col'}, 'Node'), h('th', {scope: 'col'}, 'Found'),
					h('th', {scope: 'col'}, 'Host key'),
					h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
				body)) : h('p', {class: 'empty'}, 'No hosts yet.'));
	}

	function refresh() {
		return Promise.all([API.pools(), API.hosts()]).then(function (r) {
			if (!ctx.isCurrent()) return;
			var pools = r[0], hosts = r[1];
			var active = document.activeElement;
			var label = active && listBox.contains(active) && active.getAttribute('aria-label');
			UI.clear(listBox);
			pools.forEach(function (p) {
				listBox.appendChild(poolSection(p, hosts.filter(function (x) { return x.pool === p.name; })));
			});
			empty.hidden = pools.length !== 0;
			if (label) {
				var again = listBox.querySelector('[aria-label="' + label.replace(/"/g, '\\"') + '"]');
				if (again) again.focus();
			}
			/* The register form's pool list, keeping the choice. */
			var was = poolSelect.value;
			var names = pools.map(function (p) { return p.name; });
			var have = Array.prototype.map.call(poolSelect.options, function (o) { return o.value; }).filter(Boolean);
			if (names.join('\n') !== have.join('\n')) {
				UI.clear(poolSelect);
				poolSelect.appendChild(h('option', {value: ''}, names.length ? 'Choose a pool' : 'Make a pool first'));
				names.forEach(function (n) { poolSelect.appendChild(h('option', {value: n, selected: n === was}, n)); });
				if (!was && names.length === 1) poolSelect.value = names[0];
			}
		}, function (e) { if (ctx.isCurrent()) UI.error(e); });
	}

	/* ---- register a host ---- */
	var f = {
		name: h('input', {id: 'ph-name', name: 'name', required: true, autocomplete: 'off', spellcheck: 'false'}),
		address: h('input', {id: 'ph-address', name: 'address', required: true, autocomplete: 'off', spellcheck: 'false',
			'aria-describedby': 'ph-address-help'}),
		user: h('input', {id: 'ph-user', name: 'user', value: 'root', autocomplete: 'off', spellcheck: 'false'}),
		port: h('input', {id: 'ph-port', name: 'port', value: '22', inputmode: 'numeric', autocomplete: 'off'}),
		key: h('input', {id: 'ph-key', name: 'key', type: 'file', required: true, 'aria-describedby': 'ph-key-help'}),
		type: h('input', {id: 'ph-type', name: 'machine_type', autocomplete: 'off', spellcheck: 'false',
			'aria-describedby': 'ph-type-help'})
	};
	var errBox = h('div', {id: 'ph-error', class: 'form-error', role: 'alert', hidden: true});
	var submit = h('button', {type: 'submit', class: 'primary'}, 'Register host');
	function field(label, el, help, helpId) {
		return h('div', {class: 'field'}, h('label', {for: el.id}, label), el,
			help ? h('p', {id: helpId, class: 'help'}, help) : null);
	}
	var form = h('form', {class: 'card wide', id: 'register-host', novalidate: true},
		h('h2', null, 'Register a host'),
		field('Pool', poolSelect),
		field('Host name', f.name),
		field('Address', f.address, 'IP address or DNS name where its sshd answers.', 'ph-address-help'),
		field('SSH user', f.user),
		field('SSH port', f.port),
		field('Private key file', f.key, 'The SSH private key (no passphrase) the host accepts for that user. ' +
			'It is sent once to stratusd, stored there mode 0600, and never shown again.', 'ph-key-help'),
		field('Machine type', f.type, 'Optional: a name for this kind of machine, e.g. rack1.c16.', 'ph-type-help'),
		errBox,
		h('div', {class: 'actions'}, submit));

	function showProblems(list, first) {
		UI.clear(errBox);
		if (list.length > 1) {
			errBox.appendChild(h('p', null, 'Please fix:'));
			errBox.appendChild(h('ul', null, list.map(function (p) { return h('li', null, p); })));
		} else {
			errBox.appendChild(h('p', null, list[0]));
		}
		errBox.hidden = false;
		if (first) first.focus();
	}

	function readKey(file) {
		return new Promise(function (resolve, reject) {
			if (!file) { reject(new Error('pick the private key file')); return; }
			if (file.size > 65536) { reject(new Error("'" + file.name + "' is too large for an SSH private key")); return; }
			var rd = new FileReader();
			rd.onload = function () { resolve(String(rd.result)); };
			rd.onerror = function () { reject(new Error("cannot read '" + file.name + "'")); };
			rd.readAsText(file);
		});
	}

	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		errBox.hidden = true;
		result.hidden = true;
		var problems = [], first = null;
		function bad(el, msg) { problems.push(msg); el.setAttribute('aria-invalid', 'true'); first = first || el; }
		Object.keys(f).forEach(function (k) { f[k].removeAttribute('aria-invalid'); });
		poolSelect.removeAttribute('aria-invalid');
		var pool = poolSelect.value;
		var name = f.name.value.trim(), address = f.address.value.trim(), user = f.user.value.trim() || 'root';
		var port = f.port.value.trim() || '22';
		if (!pool) bad(poolSelect, 'choose the pool the host joins');
		if (!/^[A-Za-z0-9._-]{1,63}$/.test(name)) bad(f.name, 'the host name may hold only letters, digits, ".", "_" and "-"');
		if (!/^[A-Za-z0-9.:-]{1,253}$/.test(address) || address[0] === '-') bad(f.address, 'give the address as an IP address or a DNS name');
		if (!/^[A-Za-z0-9._-]{1,32}$/.test(user)) bad(f.user, 'the SSH user is not a plain user name');
		if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) bad(f.port, 'the SSH port must be a number from 1 to 65535');
		if (!f.key.files || !f.key.files.length) bad(f.key, 'pick the private key file');
		if (problems.length) { showProblems(problems, first); return; }
		submit.disabled = true;
		readKey(f.key.files[0]).then(function (key) {
			if (key.indexOf('PRIVATE KEY-----') < 0)
				throw new Error("'" + f.key.files[0].name + "' is not an SSH private key (no PRIVATE KEY block)");
			var body = {name: name, address: address, user: user, port: Number(port), private_key: key};
			if (f.type.value.trim()) body.machine_type = f.type.value.trim();
			UI.notice("Connecting to '" + address + "' over SSH\u2026");
			return API.addHost(pool, body);
		}).then(function (x) {
			submit.disabled = false;
			f.key.value = '';
			f.name.value = '';
			f.address.value = '';
			UI.notice("Host '" + x.name + "' registered in pool '" + x.pool + "'.");
			UI.clear(result);
			var fd = x.found || {};
			result.appendChild(h('h2', null, "Host '" + x.name + "' registered"));
			result.appendChild(h('dl', {class: 'facts'},
				h('dt', null, 'State'), h('dd', null, UI.stateBadge(x.state), x.reason ? h('div', {class: 'reason'}, x.reason) : null),
				h('dt', null, 'Found'), h('dd', null, [fd.cores + ' cores', fd.memory_mb + ' MiB', fd.os, fd.arch,
					'kernel ' + fd.kernel].join(', ')),
				h('dt', null, 'Host key'), h('dd', {class: 'mono', id: 'ph-fingerprint'}, x.host_key_fingerprint || '?'),
				h('dt', null, 'Key type'), h('dd', {class: 'mono'}, String(x.host_key || '').split(' ')[0])));
			result.appendChild(h('p', {class: 'help'}, 'Check the fingerprint against the host\'s own: ',
				h('code', null, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub'),
				'. Stratus refuses the host from now on if its key changes.'));
			(x.warnings || []).forEach(function (w) { result.appendChild(h('p', {class: 'reason'}, w)); });
			result.hidden = false;
			refresh();
		}).catch(function (e) {
			submit.disabled = false;
			UI.flash(null, null);
			showProblems([e.message], null);
		});
	});

	/* ---- make a pool ---- */
	var poolName = h('input', {id: 'np-name', name: 'name', required: true, autocomplete: 'off', spellcheck: 'false'});
	var poolErr = h('div', {class: 'form-error', role: 'alert', hidden: true});
	var poolForm = h('form', {class: 'card inline', id: 'new-pool', novalidate: true},
		h('h2', null, 'Make a pool'),
		h('div', {class: 'field'}, h('label', {for: 'np-name'}, 'Pool name'), poolName),
		h('button', {type: 'submit'}, 'Make pool'),
		h('p', {class: 'help'}, 'Defaults: install directory /opt/stratus, a check every 5 s, a silent host fails ' +
			'its node after 30 s (', h('code', null, 'stratus pool create --help'), ' sets others).'),
		poolErr);
	poolForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		poolErr.hidden = true;
		var n = poolName.value.trim();
		if (!/^[A-Za-z0-9._-]{1,63}$/.test(n)) {
			UI.clear(poolErr).appendChild(h('p', null, 'the pool name may hold only letters, digits, ".", "_" and "-"'));
			poolErr.hidden = false;
			poolName.focus();
			return;
		}
		API.createPool(n).then(function () {
			poolName.value = '';
			UI.notice("Pool '" + n + "' made.");
			return refresh().then(function () { poolSelect.value = n; });
		}, function (e) {
			UI.clear(poolErr).appendChild(h('p', null, e.message));
			poolErr.hidden = false;
		});
	});

	root.appendChild(h('div', {class: 'cols'}, form, h('div', null, result, poolForm)));

	refresh();
	UI.focusHeading(root);
	var timer = setInterval(refresh, 3000);
	return function () { clearInterval(timer); };
};
