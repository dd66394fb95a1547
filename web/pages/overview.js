// Overview: how much is protected, what is failing, anomalies first (the
// page a restore operator opens at 3 a.m.). One call, GET T/overview, and
// the first page of units.
import {h} from '../lib/dom.js';
import {api, T, knowUnit, notAvailable} from '../lib/api.js';
import {heading, pager, showError, unavailable} from '../lib/ui.js';
import {bytes, num, when, unixOf} from '../lib/fmt.js';
import {unitsTable} from './units.js';

function counter(label, value, cls, detail) {
	return h('div', {class: ['counter', cls]}, h('dt', null, label), h('dd', null, value), detail ? h('dd', {class: 'detail'}, detail) : null);
}

function anomalyList(ctx, list) {
	const id = 'anomalies-h';
	const sec = h('section', {class: ['anomalies', list.length ? 'has' : 'none'], 'aria-labelledby': id},
		h('h2', {id}, 'Anomalies'));
	if (!list.length) {
		sec.append(h('p', null, 'No ransomware-like restore points found among recent backups.'));
		return sec;
	}
	sec.append(h('p', null, `${list.length} restore ${list.length === 1 ? 'point looks' : 'points look'} like ransomware damage (new data that does not compress, or far more change than usual).`));
	sec.append(h('ul', null, list.map((a) => h('li', null,
		h('a', {href: `#/units/${encodeURIComponent(a.unit)}`}, a.unitName || a.unit),
		' — point ', String(a.restorePoint), ', ', when(unixOf(a, 'time')), ': ', a.reason || 'anomaly',
		ctx.caps.restore ? [' ', h('a', {href: `#/restore/${encodeURIComponent(a.unit)}`, class: 'btn small',
			'aria-label': `Restore ${a.unitName || a.unit}…`}, 'Restore…')] : null))));
	const units = [...new Set(list.map((a) => a.unit))];
	if (ctx.caps.restore && units.length > 1)
		sec.append(h('p', null, h('a', {href: `#/restore?units=${units.map(encodeURIComponent).join(',')}`, class: 'btn primary'},
			`Restore all ${units.length} flagged units…`)));
	return sec;
}

export async function overviewPage(ctx, el) {
	el.append(heading(ctx, 'Overview'));
	let ov = null;
	try {
		ov = await api('GET', T('/overview'), {signal: ctx.signal});
	} catch (e) {
		if (notAvailable(e))
			el.append(unavailable('The overview', e));
		else
			showError(e, 'Loading the overview');
	}
	if (ov) {
		const u = ov.units || {};
		for (const a of ov.anomalies || [])
			knowUnit({id: a.unit, name: a.unitName});
		el.append(anomalyList(ctx, ov.anomalies || []));
		const oldest = ov.oldestLastSuccess;
		el.append(h('section', {'aria-labelledby': 'status-h'}, h('h2', {id: 'status-h', class: 'visually-hidden'}, 'Status'),
			h('dl', {class: 'counters'},
				counter('Protected', num(u.protected), 'ok', `of ${num(u.total)} units`),
				counter('Failing', num(u.failing), u.failing ? 'bad' : ''),
				counter('Never backed up', num(u.neverBackedUp), u.neverBackedUp ? 'warn' : ''),
				ov.drills ? counter('Failed restore drills', num(ov.drills.failed), ov.drills.failed ? 'bad' : '',
					`${num(ov.drills.passed)} passed`) : null,
				counter('Storage used', bytes(ov.storedBytes), '', `${num(ov.restorePoints)} restore points, ${bytes(ov.bytes)} as files`),
				oldest ? counter('Oldest last backup', when(unixOf(oldest, 'lastSuccess')), '',
					h('a', {href: `#/units/${encodeURIComponent(oldest.unit)}`}, oldest.unitName || oldest.unit)) : null)));
	}
	const p = pager(ctx, {
		label: 'Units',
		load: (after, signal) => api('GET', T('/protectionUnits'), {query: {limit: 50, after}, signal}),
		render: (items) => unitsTable(ctx, items, 'Units and the age of their last restore point').wrap,
		empty: 'No protection units yet.',
	});
	await p.reload();
	el.append(h('section', {'aria-labelledby': 'units-h'}, h('h2', {id: 'units-h'}, 'Units'), p.el));
}
