// Tenants (global admin) and tokens (global admin: every token; tenant
// admin: its tenant's). A new token's secret is shown once.
import {h, fill, field, button, table} from '../lib/dom.js';
import {api, T} from '../lib/api.js';
import {heading, pager, showError} from '../lib/ui.js';
import {when, state, unixOf, ROLE_NAMES} from '../lib/fmt.js';

// The once-shown secret of a new token.
function secretBox(box, tok) {
	const code = h('code', null, tok.secret);
	fill(box, h('div', {class: 'secret'},
		h('p', null, h('strong', null, `Token ${tok.name} (${ROLE_NAMES[tok.role] || tok.role}) created. `),
			'Copy its secret now: it is not shown again.'),
		h('p', null, code),
		button('Copy secret', async () => {
			try {
				await navigator.clipboard.writeText(tok.secret);
				box.querySelector('.copied').textContent = 'Copied.';
			} catch (e) {
				box.querySelector('.copied').textContent = 'Copying is not allowed here: select the text and copy it.';
			}
		}), h('span', {class: 'copied muted'})));
}

export async function tenantsPage(ctx, el) {
	const name = h('input', {type: 'text', required: true});
	const created = h('div', {role: 'status'});
	let p;
	const form = h('form', {class: 'inline-form', 'aria-labelledby': 'nt-h'}, h('h2', {id: 'nt-h'}, 'New tenant'),
		field('Tenant name', name).row, h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Create tenant')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const t = await api('POST', '/v1/tenants', {body: {name: name.value.trim()}});
			fill(created, h('p', {class: 'banner ok'}, `Tenant ${t.name} created (${t.id}). Create its first admin token below.`));
			name.value = '';
			await p.reload();
		} catch (e) {
			showError(e, 'Creating the tenant');
		}
	});
	const secret = h('div', {role: 'status'});
	const firstTenant = h('input', {type: 'text', required: true, placeholder: 't-…'});
	const firstName = h('input', {type: 'text', required: true, value: 'admin'});
	const first = h('form', {class: 'inline-form', 'aria-labelledby': 'fa-h'}, h('h2', {id: 'fa-h'}, 'First admin token of a tenant'),
		field('Tenant id', firstTenant).row, field('Token name', firstName).row,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Create admin token')));
	first.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const tok = await api('POST', `/v1/tenants/${encodeURIComponent(firstTenant.value.trim())}/tokens`,
				{body: {name: firstName.value.trim(), role: 'tenantAdmin'}});
			secretBox(secret, tok);
		} catch (e) {
			showError(e, 'Creating the admin token');
		}
	});
	// A folder is a place on the server: without folder_root only the
	// global admin names folders (docs/api.md), so it creates folder units.
	const unitMsg = h('div', {role: 'status'});
	const uTenant = h('input', {type: 'text', required: true, placeholder: 't-…'});
	const uName = h('input', {type: 'text', required: true});
	const uKind = h('select', null, ['site', 'account'].map((k) => h('option', {value: k}, k)));
	const uPath = h('input', {type: 'text', required: true, placeholder: '/srv/share/finance', class: 'wide'});
	const unitForm = h('form', {class: 'inline-form', 'aria-labelledby': 'nu-h'}, h('h2', {id: 'nu-h'}, 'New folder unit'),
		field('Tenant id', uTenant).row, field('Unit name', uName).row, field('Unit kind', uKind).row, field('Folder', uPath).row,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Create unit')));
	unitForm.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const u = await api('POST', `/v1/tenants/${encodeURIComponent(uTenant.value.trim())}/protectionUnits`,
				{body: {name: uName.value.trim(), kind: uKind.value, source: {type: 'folder', path: uPath.value.trim()}}});
			fill(unitMsg, h('p', {class: 'banner ok'}, `Unit ${u.name} (${u.id}) created in ${u.tenant}.`));
			uName.value = uPath.value = '';
		} catch (e) {
			showError(e, 'Creating the unit');
		}
	});
	p = pager(ctx, {
		label: 'Tenants',
		newer: 'Previous', older: 'Next',
		load: (after, signal) => api('GET', '/v1/tenants', {query: {limit: 100, after}, signal}),
		render: (items) => table('Tenants', ['Name', 'Id', 'State', 'Created', 'Minimum retention', 'Legal hold'], items.map((t) => [
			t.name, h('code', {class: 'id'}, t.id), state(t.state), when(unixOf(t, 'created')), `${t.minRetentionDays} days`,
			t.legalHold ? t.legalHold.reason : 'none',
		]), {rowHeader: true}).wrap,
		empty: 'No tenants yet.',
	});
	await p.reload();
	el.append(heading(ctx, 'Tenants'), created, p.el, form, first, secret, unitForm, unitMsg);
}

const TENANT_ROLES = ['tenantAdmin', 'restoreOperator', 'auditor', 'privacyOfficer'];

export async function tokensPage(ctx, el) {
	const global = ctx.caps.global;
	const listPath = global ? '/v1/tokens' : T('/tokens');
	const name = h('input', {type: 'text', required: true});
	const role = h('select', null, (global ? ['globalAdmin', ...TENANT_ROLES] : TENANT_ROLES).map((r) =>
		h('option', {value: r}, ROLE_NAMES[r] || r)));
	const tenant = h('input', {type: 'text', placeholder: 't-… (not for a global admin)'});
	const secret = h('div', {role: 'status'});
	let p;
	const form = h('form', {class: 'inline-form', 'aria-labelledby': 'ntk-h'}, h('h2', {id: 'ntk-h'}, 'New token'),
		field('Token name', name).row, field('Role', role).row, global ? field('Tenant', tenant).row : null,
		h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Create token')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = {name: name.value.trim(), role: role.value};
		try {
			let tok;
			if (global && role.value !== 'globalAdmin')
				tok = await api('POST', `/v1/tenants/${encodeURIComponent(tenant.value.trim())}/tokens`, {body});
			else
				tok = await api('POST', global ? '/v1/tokens' : T('/tokens'), {body});
			secretBox(secret, tok);
			name.value = '';
			await p.reload();
		} catch (e) {
			showError(e, 'Creating the token');
		}
	});
	p = pager(ctx, {
		label: 'Tokens',
		newer: 'Previous', older: 'Next',
		load: (after, signal) => api('GET', listPath, {query: {limit: 100, after}, signal}),
		render: (items) => table('API tokens', ['Name', 'Id', 'Role', 'Tenant', 'Created', 'Last used', 'State'], items.map((t) => [
			t.name, h('code', {class: 'id'}, t.id), ROLE_NAMES[t.role] || t.role, t.tenant || 'global', when(unixOf(t, 'created')),
			when(unixOf(t, 'lastUsed'), 'never'),
			t.revoked ? state('revoked') : (t.id === ctx.who.token ? h('span', {class: 'muted'}, 'this token') : button('Revoke', async () => {
				if (!window.confirm(`Revoke token ${t.name} (${t.id})? Whoever uses it is signed out.`))
					return;
				try {
					const path = global && t.tenant ? `/v1/tenants/${encodeURIComponent(t.tenant)}/tokens/${encodeURIComponent(t.id)}`
						: `${listPath}/${encodeURIComponent(t.id)}`;
					await api('DELETE', path);
					await p.reload();
				} catch (e) {
					showError(e, 'Revoking the token');
				}
			}, {class: 'small danger', 'aria-label': `Revoke ${t.name}`})),
		]), {rowHeader: true}).wrap,
		empty: 'No tokens.',
	});
	await p.reload();
	el.append(heading(ctx, 'Tokens'), p.el, form, secret);
}
