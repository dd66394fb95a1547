// Browse a restore point's files and folders, and the difference of two
// points. Both are content reads: the API audits them.
import {h, fill, table} from '../lib/dom.js';
import {api, U, unitName} from '../lib/api.js';
import {heading, pager} from '../lib/ui.js';
import {bytes, num, when, unixOf} from '../lib/fmt.js';

const CHUNK = 500; // rows put in the page at a time
const MAIL_TYPES = {dir: 'folder', file: 'message'};

export function parentOf(path) {
	const i = path.replace(/\/+$/, '').lastIndexOf('/');
	return i <= 0 ? '/' : path.slice(0, i);
}

function crumbs(base, path) {
	const parts = path.split('/').filter(Boolean);
	const items = [h('li', null, h('a', {href: base}, 'top'))];
	let acc = '';
	parts.forEach((p, i) => {
		acc += '/' + p;
		items.push(h('li', null, i === parts.length - 1
			? h('span', {'aria-current': 'page'}, p)
			: h('a', {href: `${base}?path=${encodeURIComponent(acc)}`}, p)));
	});
	return h('nav', {'aria-label': 'Breadcrumb', class: 'crumbs'}, h('ol', null, items));
}

// Rows of a long list put into tbody CHUNK at a time ("Show more").
export function chunked(tbody, items, rowOf, label) {
	let shown = 0;
	const more = h('button', {type: 'button'}, 'Show more');
	const note = h('span', {class: 'muted', tabindex: '-1'});
	function step() {
		const end = Math.min(items.length, shown + CHUNK);
		for (; shown < end; shown++)
			tbody.appendChild(rowOf(items[shown]));
		note.textContent = `${num(shown)} of ${num(items.length)} ${label} shown`;
		more.hidden = shown >= items.length;
	}
	more.addEventListener('click', () => {
		step();
		if (more.hidden)
			note.focus(); // the button that had the focus is gone
	});
	step();
	return h('div', {class: 'pager'}, more, note);
}

export async function browsePage(ctx, el) {
	const {id, seq} = ctx.params;
	const path = ctx.query.get('path') || '/';
	const unit = await api('GET', U(id), {signal: ctx.signal});
	const name = unit.name;
	const base = `#/units/${encodeURIComponent(id)}/points/${encodeURIComponent(seq)}`;
	el.append(heading(ctx, `Point ${seq} of ${name}`),
		h('p', null, h('a', {href: `#/units/${encodeURIComponent(id)}`}, `Back to ${name}`)),
		crumbs(base, path));
	const res = await api('GET', U(id, `/restorePoints/${encodeURIComponent(seq)}/items`), {query: {path}, signal: ctx.signal});
	const items = (res.items || []).slice().sort((a, b) =>
		((b.type === 'dir') - (a.type === 'dir')) || String(a.name).localeCompare(String(b.name)));
	if (res.truncated)
		el.append(h('p', {class: 'note'}, 'This folder holds more entries than the API lists at once; the first ones are shown.'));
	if (res.withheld && res.withheld.items)
		el.append(h('p', {class: 'note'}, `${res.withheld.items} entries are withheld by erasure requests.`));
	const mailbox = unit.kind === 'mailbox';
	const t = table(`Items in ${path}`, ['Name', 'Type', 'Size', 'Modified', 'Mode'], [], {rowHeader: true});
	const rowOf = (it) => {
		const tr = h('tr');
		const p = it.path || (path.replace(/\/$/, '') + '/' + it.name);
		let nameCell = it.name;
		if (it.type === 'dir')
			nameCell = h('a', {href: `${base}?path=${encodeURIComponent(p)}`}, it.name + '/');
		else if (mailbox)
			nameCell = h('a', {href: `#/mail/message?unit=${encodeURIComponent(id)}&rp=${encodeURIComponent(seq)}&path=${encodeURIComponent(p.replace(/^\//, ''))}`}, it.name);
		tr.append(h('th', {scope: 'row'}, nameCell), h('td', null, (mailbox ? MAIL_TYPES[it.type] || it.type : it.type) + (it.target ? ` → ${it.target}` : '')),
			h('td', null, it.type === 'dir' ? '' : bytes(it.size)), h('td', null, when(unixOf(it, 'mtime'), '–')),
			h('td', null, it.mode || ''));
		return tr;
	};
	if (path !== '/') {
		t.tbody.append(h('tr', null, h('th', {scope: 'row'},
			h('a', {href: `${base}?path=${encodeURIComponent(parentOf(path))}`}, '../ (parent folder)')), h('td', null, 'dir'),
			h('td'), h('td'), h('td')));
	}
	el.append(t.wrap, chunked(t.tbody, items, rowOf, 'items'));
}

const CHANGE_ORDER = ['added', 'removed', 'changed', 'attrs'];
const CHANGE_WORDS = {added: 'added', removed: 'removed', changed: 'changed', attrs: 'metadata only'};
const CHANGE_LABELS = {added: 'Added', removed: 'Removed', changed: 'Changed', attrs: 'Metadata only'};

export async function diffPage(ctx, el) {
	const {id, a, b} = ctx.params;
	const name = await unitName(id);
	el.append(heading(ctx, `Changes in ${name} from point ${a} to point ${b}`),
		h('p', null, h('a', {href: `#/units/${encodeURIComponent(id)}`}, `Back to ${name}`)));
	const summary = h('div');
	let first = true;
	const p = pager(ctx, {
		label: 'Changes',
		newer: 'Previous changes', older: 'More changes',
		unavailable: 'Comparing two points',
		load: async (after, signal) => {
			const r = await api('GET', U(id, `/restorePoints/${encodeURIComponent(b)}/diff`),
				{query: {against: a, limit: 200, after}, signal});
			if (first && r.summary) {
				first = false;
				const s = r.summary;
				fill(summary, h('dl', {class: 'counters small'},
					CHANGE_ORDER.filter((k) => k in s).concat(Object.keys(s).filter((k) => !CHANGE_ORDER.includes(k)))
						.map((k) => h('div', {class: ['counter', 'chg-' + k]}, h('dt', null, CHANGE_LABELS[k] || k), h('dd', null, num(s[k]))))),
				r.withheld && r.withheld.items ? h('p', {class: 'note'}, `${r.withheld.items} entries withheld by erasure requests.`) : null);
			}
			return r;
		},
		render: (items) => table(`Changes from point ${a} to point ${b}`, ['Path', 'Change'],
			items.map((it) => [it.path, h('span', {class: ['tag', 'chg-' + it.change]}, CHANGE_WORDS[it.change] || it.change)]),
			{rowHeader: true}).wrap,
		empty: 'The two points hold the same files.',
		noMore: 'No more changes.',
	});
	await p.reload();
	el.append(summary, p.el);
}

