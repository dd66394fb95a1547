// Protection policies: the list and one policy's form (create, edit,
// activate). Roles without config.write see the form read-only.
import {h, field, table, button} from '../lib/dom.js';
import {api, T} from '../lib/api.js';
import {heading, pager, showError, linkButton} from '../lib/ui.js';
import {when, state, unixOf, duration} from '../lib/fmt.js';

const policyHref = (id) => `#/policies/${encodeURIComponent(id)}`;

export async function policiesPage(ctx, el) {
	el.append(heading(ctx, 'Policies', ctx.caps.config ? linkButton('New policy', '#/policies/new', {class: 'btn primary'}) : null));
	const p = pager(ctx, {
		label: 'Policies',
		newer: 'Previous', older: 'Next',
		load: (after, signal) => api('GET', T('/protectionPolicies'), {query: {limit: 100, after}, signal}),
		render: (items) => table('Protection policies', ['Name', 'Kind', 'State', 'Units', 'Every', 'Keep all for', 'Retention', 'Updated']
			.concat(ctx.caps.config ? ['Actions'] : []),
			items.map((x) => [
				h('a', {href: policyHref(x.id)}, x.name),
				x.kind,
				state(x.state),
				String((x.units || []).length) + ((x.rules || []).length ? ` + ${x.rules.length} rules` : ''),
				duration(x.frequencySeconds),
				`${x.recentDays} days`,
				`${x.retentionDays} days`,
				when(unixOf(x, 'updated') || unixOf(x, 'created')),
			].concat(ctx.caps.config ? [toggle(x)] : [])), {rowHeader: true}).wrap,
		empty: 'No policies yet.',
	});
	// Activate or deactivate in one click (PATCH state).
	function toggle(x) {
		const to = x.state === 'inactive' ? 'active' : 'inactive';
		const word = to === 'active' ? 'Activate' : 'Deactivate';
		return button(word, async () => {
			try {
				await api('PATCH', T(`/protectionPolicies/${encodeURIComponent(x.id)}`), {body: {state: to}});
				await p.reload();
			} catch (e) {
				showError(e, `${word} ${x.name}`);
			}
		}, {class: 'small', 'aria-label': `${word} ${x.name}`});
	}
	await p.reload();
	el.append(p.el);
}

function ruleText(r) {
	if (r.type === 'subfolders')
		return `every subfolder of ${r.path}`;
	if (r.type === 'webdav')
		return `every collection under ${r.url}` + (r.user ? ` (user ${r.user})` : '');
	return JSON.stringify(r);
}

export async function policyPage(ctx, el) {
	const isNew = ctx.params.id === undefined;
	const editable = ctx.caps.config;
	let pol = {name: '', kind: 'site', units: [], rules: [], frequencySeconds: 86400, recentDays: 14, retentionDays: 365, state: 'inactive'};
	if (!isNew)
		pol = await api('GET', T(`/protectionPolicies/${encodeURIComponent(ctx.params.id)}`), {signal: ctx.signal});

	const name = h('input', {type: 'text', required: true, value: pol.name, class: 'wide'});
	const kind = h('select', {disabled: !isNew}, ['mailbox', 'account', 'site'].map((k) => h('option', {value: k, selected: k === pol.kind}, k)));
	const units = h('select', {multiple: true, size: '8'});
	const freq = h('input', {type: 'number', min: '1', required: true, value: String(Math.round(pol.frequencySeconds / 60)), class: 'narrow'});
	const recent = h('input', {type: 'number', min: '0', required: true, value: String(pol.recentDays), class: 'narrow'});
	const retention = h('input', {type: 'number', min: '1', required: true, value: String(pol.retentionDays), class: 'narrow'});
	const st = h('select', null, ['inactive', 'active'].map((s) => h('option', {value: s, selected: s === (pol.state === 'inactive' ? 'inactive' : 'active')}, s)));
	const sub = h('input', {type: 'text', class: 'wide', placeholder: '/srv/home'});

	// The units of the policy's kind to choose from (one page of up to 1000).
	async function loadUnits() {
		units.replaceChildren();
		const chosen = new Set(pol.units || []);
		try {
			const r = await api('GET', T('/protectionUnits'), {query: {kind: kind.value, limit: 1000}, signal: ctx.signal});
			const seen = new Set();
			for (const u of r.items || []) {
				seen.add(u.id);
				units.append(h('option', {value: u.id, selected: chosen.has(u.id)}, `${u.name} (${u.id})`));
			}
			for (const id of chosen)
				if (!seen.has(id))
					units.append(h('option', {value: id, selected: true}, id));
		} catch (e) {
			showError(e, 'Loading units');
		}
	}
	kind.addEventListener('change', loadUnits);
	await loadUnits();

	const controls = [name, kind, units, freq, recent, retention, st, sub];
	if (!editable)
		controls.forEach((c) => c.setAttribute('disabled', ''));
	const saved = h('p', {role: 'status', class: 'note-inline'});
	const form = h('form', {class: 'card', 'aria-label': isNew ? 'New policy' : 'Policy'},
		field('Name', name).row,
		field('Kind', kind, isNew ? null : 'The kind of a policy cannot change.').row,
		field('Units', units, 'Hold Ctrl (or Cmd) to choose several.').row,
		(pol.rules || []).length ? h('div', {class: 'field'}, h('span', {class: 'label'}, 'Inclusion rules'),
			h('ul', null, pol.rules.map((r) => h('li', null, ruleText(r))))) : null,
		isNew && editable ? field('Also every subfolder of (optional)', sub, 'A subfolders rule: each subfolder becomes a unit (folders only).').row : null,
		field('Frequency (minutes)', freq, 'How often a restore point is taken.').row,
		field('Keep all for (days)', recent, 'Every restore point is kept this long; then one a week.').row,
		field('Retention (days)', retention, 'How long restore points are kept at all.').row,
		field('State', st).row,
		editable ? h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Save')) : null,
		saved);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = {
			name: name.value.trim(),
			units: [...units.selectedOptions].map((o) => o.value),
			frequencySeconds: Number(freq.value) * 60,
			recentDays: Number(recent.value),
			retentionDays: Number(retention.value),
			state: st.value,
		};
		try {
			if (isNew) {
				body.kind = kind.value;
				body.rules = sub.value.trim() ? [{type: 'subfolders', path: sub.value.trim()}] : [];
				const p = await api('POST', T('/protectionPolicies'), {body});
				location.hash = policyHref(p.id);
			} else {
				pol = await api('PATCH', T(`/protectionPolicies/${encodeURIComponent(pol.id)}`), {body});
				saved.textContent = `Saved. State: ${pol.state}.`;
			}
		} catch (e) {
			showError(e, 'Saving the policy');
		}
	});
	el.append(heading(ctx, isNew ? 'New policy' : `Policy ${pol.name}`),
		h('p', null, h('a', {href: '#/policies'}, 'All policies')),
		!isNew ? h('dl', {class: 'props'}, h('dt', null, 'State'), h('dd', null, state(pol.state)),
			h('dt', null, 'Created'), h('dd', null, when(unixOf(pol, 'created'))),
			h('dt', null, 'Id'), h('dd', null, h('code', null, pol.id))) : null,
		editable ? null : h('p', {class: 'note'}, 'Your role may read policies but not change them.'),
		form);
}
