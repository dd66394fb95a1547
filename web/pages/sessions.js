// Restore sessions: the list, and one session's progress per unit, polled
// every second while it runs.
import {h, fill, table} from '../lib/dom.js';
import {api, T, unitName} from '../lib/api.js';
import {heading, pager, showError} from '../lib/ui.js';
import {bytes, num, when, state, duration, unixOf, MODE_NAMES, targetText} from '../lib/fmt.js';

const DONE = new Set(['succeeded', 'failed']);
const sessionHref = (id) => `#/sessions/${encodeURIComponent(id)}`;

function unitCell(id) {
	const a = h('a', {href: `#/units/${encodeURIComponent(id)}`}, id);
	unitName(id).then((n) => {
		a.textContent = n;
	});
	return a;
}

export async function sessionsPage(ctx, el) {
	el.append(heading(ctx, 'Restore sessions'));
	const p = pager(ctx, {
		label: 'Restore sessions',
		newer: 'Newer', older: 'Older',
		load: (after, signal) => api('GET', T('/restoreSessions'), {query: {limit: 50, after, order: 'desc'}, signal}),
		render: (items) => table('Restore sessions, newest first', ['Session', 'Created', 'State', 'Units', 'Finished'],
			items.map((s) => [
				h('a', {href: sessionHref(s.id)}, s.id),
				when(unixOf(s, 'created')),
				state(s.state),
				h('span', null, (s.artifacts || []).map((a, i) => [i ? ', ' : '', unitCell(a.unit), ` @${a.restorePoint} ${MODE_NAMES[a.mode] || a.mode}`])),
				when(unixOf(s, 'finished'), '–'),
			]), {rowHeader: true}).wrap,
		empty: 'No restore sessions yet.',
	});
	await p.reload();
	el.append(p.el);
}

// One row per unit; update() changes its cells in place, so a poll does not
// take the keyboard focus away from a link in the table.
function artifactRow(a0) {
	const label = h('span', null, a0.unit);
	const bar = h('progress', {max: '1', value: '0', 'aria-label': `Progress of ${a0.unit}`});
	unitName(a0.unit).then((n) => {
		label.textContent = n;
		bar.setAttribute('aria-label', `Progress of ${n}`);
	});
	const pct = h('span'), st = h('td'), done = h('td'), eta = h('td'), extra = h('td');
	const tr = h('tr', {'data-unit': a0.unit},
		h('th', {scope: 'row'}, h('a', {href: `#/units/${encodeURIComponent(a0.unit)}`}, label)),
		h('td', null, String(a0.restorePoint)),
		h('td', null, MODE_NAMES[a0.mode] || a0.mode, a0.paths && a0.paths.length ? h('span', {class: 'hint'}, ` (${a0.paths.length} paths)`) : null),
		h('td', null, bar, pct), st, done, eta, extra);
	function update(a) {
		bar.value = a.progress || 0;
		pct.textContent = ` ${Math.round((a.progress || 0) * 100)} %`;
		fill(st, state(a.state));
		fill(done, `${num(a.itemsDone)} / ${num(a.itemsTotal)} items`, h('br'), `${bytes(a.bytesDone)} / ${bytes(a.bytesTotal)}`);
		eta.textContent = a.state === 'running'
			? (a.etaSeconds === null || a.etaSeconds === undefined ? 'estimating…' : duration(a.etaSeconds)) : '–';
		fill(extra, a.target ? h('code', null, targetText(a.target)) : '',
			a.error ? h('div', {class: 'state state-failed'}, a.error) : null,
			a.withheld && a.withheld.items ? h('div', {class: 'hint'}, `${a.withheld.items} withheld by erasure requests`) : null);
	}
	update(a0);
	return {tr, update};
}

export async function sessionPage(ctx, el) {
	const id = ctx.params.id;
	const summary = h('p', {role: 'status'});
	const overall = h('p', {class: 'muted'}); // every poll; not announced
	const t = table('Units of this session', ['Unit', 'Point', 'Mode', 'Progress', 'State', 'Done', 'Time left', 'Target and errors'], []);
	let s = await api('GET', T(`/restoreSessions/${encodeURIComponent(id)}`), {signal: ctx.signal});
	let lastState = null;
	let rows = [];
	function render() {
		const st = s.state;
		const note = DONE.has(st)
			? `Finished ${st === 'succeeded' ? 'successfully' : 'with a failure'}.`
			: 'Updating every second.';
		// Only announce when the state changes, not at every poll.
		if (st !== lastState) {
			fill(summary, 'Session ', state(st), '. ', note);
			lastState = st;
		}
		const arts = s.artifacts || [];
		// The whole session: bytes done of all units; the longest ETA.
		const tot = arts.reduce((a, x) => a + (x.bytesTotal || 0), 0);
		const done = arts.reduce((a, x) => a + (x.bytesDone || 0), 0);
		const etas = arts.filter((x) => x.state === 'running' && typeof x.etaSeconds === 'number').map((x) => x.etaSeconds);
		const itot = arts.reduce((a, x) => a + (x.itemsTotal || 0), 0);
		const idone = arts.reduce((a, x) => a + (x.itemsDone || 0), 0);
		overall.textContent = `In all: ${arts.length} ${arts.length === 1 ? 'unit' : 'units'}` +
			(tot ? `, ${bytes(done)} of ${bytes(tot)} written (${Math.round((100 * done) / tot)} %)`
				: itot ? `, ${num(idone)} of ${num(itot)} items` : '') +
			(etas.length ? `, about ${duration(Math.max(...etas))} left` : '') + '.';
		if (rows.length !== arts.length) {
			rows = arts.map(artifactRow);
			fill(t.tbody, rows.map((r) => r.tr));
		} else {
			arts.forEach((a, i) => rows[i].update(a));
		}
	}
	render();
	el.append(heading(ctx, `Restore session ${id}`), summary, overall,
		h('dl', {class: 'props'},
			h('dt', null, 'Created'), h('dd', null, when(unixOf(s, 'created'))),
			h('dt', null, 'Created by'), h('dd', null, h('code', null, s.createdBy || '–'))),
		t.wrap,
		h('p', null, h('a', {href: '#/sessions'}, 'All restore sessions')));
	async function poll() {
		if (ctx.signal.aborted || DONE.has(s.state))
			return;
		try {
			s = await api('GET', T(`/restoreSessions/${encodeURIComponent(id)}`), {signal: ctx.signal});
			render();
		} catch (e) {
			showError(e, 'Updating the session');
		}
		if (!ctx.signal.aborted && !DONE.has(s.state))
			setTimeout(poll, 1000);
	}
	if (!DONE.has(s.state))
		setTimeout(poll, 1000);
}
