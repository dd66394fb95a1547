// The audit log: filters, pages of entries, and a button that recomputes the
// hash chain (the global admin's /v1/auditLog/verify, with the entry count
// and head; a tenant's admins and auditors T/auditLog/verify, which checks
// the same whole chain without telling the other tenants' count).
import {h, fill, field, button, table} from '../lib/dom.js';
import {api, T} from '../lib/api.js';
import {heading, pager, showError} from '../lib/ui.js';
import {exact, unixOf} from '../lib/fmt.js';

function detailText(d) {
	if (d === null || d === undefined || d === '')
		return '';
	if (typeof d === 'string')
		return d;
	return JSON.stringify(d);
}

export async function auditPage(ctx, el) {
	const global = ctx.caps.global;
	const q = ctx.query;
	const action = h('input', {type: 'text', name: 'action', value: q.get('action') || '', placeholder: 'e.g. restoreSession'});
	const since = h('input', {type: 'date', name: 'since', value: q.get('since') || ''});
	const until = h('input', {type: 'date', name: 'until', value: q.get('until') || ''});
	const tenant = h('input', {type: 'text', name: 'tenant', value: q.get('tenant') || '', placeholder: 't-…'});
	const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter the audit log'},
		field('Action', action, 'starts with').row, field('Since', since).row, field('Until', until).row,
		global ? field('Tenant', tenant).row : null,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Filter')));
	const status = h('div', {role: 'status', class: 'verify-result'});
	const verify = button('Verify chain', async () => {
		fill(status, 'Verifying…');
		try {
			const r = await api('GET', global ? '/v1/auditLog/verify' : T('/auditLog/verify'));
			const intact = global
				? [`${r.entries} entries, head `, h('code', null, r.head || ''), '.']
				: ['every entry of the service\'s log, this tenant\'s among them, is as it was written.'];
			fill(status, r.ok
				? h('p', {class: 'banner ok'}, h('strong', null, 'The chain is intact: '), ...intact)
				: h('p', {class: 'banner bad'}, h('strong', null, 'The chain is broken: '), r.error || 'unknown error'));
		} catch (e) {
			fill(status);
			showError(e, 'Verifying the chain');
		}
	});
	const p = pager(ctx, {
		label: 'Audit entries',
		newer: 'Newer', older: 'Older',
		load: (after, signal) => api('GET', global ? '/v1/auditLog' : T('/auditLog'), {signal, query: {
			limit: 100, after, order: 'desc', action: action.value.trim(), since: since.value, until: until.value,
			tenant: global ? tenant.value.trim() : undefined}}),
		render: (items) => table('Audit log entries, newest first', ['#', 'Time', 'Actor', 'Action', 'Target', 'Detail'].concat(global ? ['Tenant'] : []),
			items.map((e) => [String(e.seq), exact(unixOf(e, 'time')), h('code', {class: 'id'}, e.actor || '–'), e.action, e.target || '',
				h('span', {class: 'mono'}, detailText(e.detail))].concat(global ? [e.tenant || 'global'] : [])), {rowHeader: true}).wrap,
		empty: 'No entries match.',
	});
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		p.reset();
	});
	await p.reload();
	el.append(heading(ctx, 'Audit log', verify), status,
		form, p.el);
}
