/*
 * views/login.js: the login form.  The password goes to POST /api/v1/session
 * once; what comes back is an HttpOnly session cookie and the CSRF token.
 */
'use strict';

var Views = window.Views || (window.Views = {});

Views.login = function (root) {
	var h = UI.h;
	var user = h('input', {id: 'login-user', name: 'username', autocomplete: 'username', required: true,
		autocapitalize: 'none', spellcheck: 'false'});
	var pass = h('input', {id: 'login-password', name: 'password', type: 'password',
		autocomplete: 'current-password', required: true});
	var submit = h('button', {type: 'submit', class: 'primary'}, 'Log in');
	var msg = h('p', {id: 'login-error', class: 'form-error', role: 'alert', hidden: true});
	var form = h('form', {class: 'card login', 'aria-describedby': 'login-error', novalidate: true},
		h('h1', null, 'Log in to Stratus'),
		h('div', {class: 'field'}, h('label', {for: 'login-user'}, 'User name'), user),
		h('div', {class: 'field'}, h('label', {for: 'login-password'}, 'Password'), pass),
		msg,
		h('div', {class: 'actions'}, submit));
	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		msg.hidden = true;
		if (!user.value || !pass.value) {
			msg.textContent = 'Enter your user name and password.';
			msg.hidden = false;
			(user.value ? pass : user).focus();
			return;
		}
		submit.disabled = true;
		API.login(user.value, pass.value).then(function (s) {
			pass.value = '';
			App.loggedIn(s.username || user.value);
		}, function (e) {
			submit.disabled = false;
			msg.textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
			msg.hidden = false;
			pass.value = '';
			pass.focus();
		});
	});
	root.appendChild(form);
	user.focus();
};
