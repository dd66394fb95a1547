// Sign-in with an API token. The token stays in this tab's session storage
// (gone when the tab closes); GET /v1/whoami checks it and names the role.
import {h} from '../lib/dom.js';
import {api, auth, takeExpired} from '../lib/api.js';
import {heading, showError} from '../lib/ui.js';

export async function signinPage(ctx, el) {
	const input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'off',
		spellcheck: 'false', required: true, 'aria-describedby': 'token-hint', class: 'wide'});
	const submit = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
	const form = h('form', {class: 'card signin', novalidate: true},
		h('div', {class: 'field'}, h('label', {for: 'token'}, 'API token'), input,
			h('span', {class: 'hint', id: 'token-hint'},
				'A token starts with cft_. It is kept in this browser tab only and forgotten when the tab closes.')),
		h('div', {class: 'actions'}, submit));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const token = input.value.trim();
		if (!token) {
			showError(new Error('enter an API token'), 'Signing in');
			input.focus();
			return;
		}
		submit.disabled = true;
		try {
			await api('GET', '/v1/whoami', {token});
			auth.set(token);
			await ctx.loadWho();
			input.value = '';
			ctx.afterSignIn();
		} catch (e) {
			showError(e, 'Signing in');
			input.focus();
		} finally {
			submit.disabled = false;
		}
	});
	if (auth.token && !auth.who)
		auth.clear();
	ctx.renderChrome();
	const expired = takeExpired();
	el.append(heading(ctx, 'Sign in'),
		expired ? h('p', {class: 'note', role: 'status'}, `The API did not accept the token any more (${expired}): sign in again.`) : null,
		h('p', null, 'The coffer console: protection status, restore points, restores, mail search and the audit log.'),
		form);
}
