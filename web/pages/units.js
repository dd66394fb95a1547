// Units: the list (filtered, paged) and one unit's page: its record, the
// recommended points, the timeline chart and the table of restore points,
// newest first, one page (100) at a time.
import {h, fill, table, button, field} from '../lib/dom.js';
import {api, T, U, knowUnit} from '../lib/api.js';
import {heading, pager, showError, linkButton} from '../lib/ui.js';
import {bytes, num, when, state, unixOf, UNIT_STATES} from '../lib/fmt.js';
import {timeline} from '../lib/chart.js';

const unitHref = (id) => `#/units/${encodeURIComponent(id)}`;

export function unitsTable(ctx, items, caption) {
	items.forEach(knowUnit);
	return table(caption, ['Name', 'Kind', 'State', 'Last restore point', 'Last attempt', 'Problems'],
		items.map((u) => [
			h('a', {href: unitHref(u.id)}, u.name),
			u.kind,
			state(u.state, UNIT_STATES),
			when(unixOf(u, 'lastSuccess'), 'never'),
			when(unixOf(u, 'lastAttempt'), 'never'),
			problems(u),
		]), {rowHeader: true});
}

// A unit's last restore drill in words (docs/service.md "Restore drills").
function drillText(d) {
	if (!d)
		return 'none yet';
	const first = d.firstProblem ? `: ${d.firstProblem.path ? d.firstProblem.path + ': ' : ''}${d.firstProblem.problem}` : '';
	return `${d.state} ${d.finished || ''}, ${d.packs} packs and ${d.samples} files checked${first}`;
}

function problems(u) {
	const out = [];
	if (u.failures)
		out.push(h('span', {class: 'state state-failed'}, `${u.failures} failed`), u.lastError ? ': ' + u.lastError : '');
	if (u.sourceGone)
		out.push(h('span', {class: 'state state-failed'}, 'source gone'));
	if (u.lastDrill && u.lastDrill.state === 'failed')
		out.push(h('span', {class: 'state state-failed'}, 'restore drill failed'));
	if (u.legalHold)
		out.push(h('span', {class: 'tag'}, 'legal hold'));
	if (u.destroyRequested)
		out.push(h('span', {class: 'tag'}, 'to be destroyed'));
	return out.length ? h('span', null, ...out) : h('span', {class: 'muted'}, 'none');
}

export async function unitsPage(ctx, el) {
	el.append(heading(ctx, 'Units'));
	const name = h('input', {type: 'search', name: 'namePrefix', value: ctx.query.get('namePrefix') || ''});
	const kind = h('select', {name: 'kind'}, ['', 'mailbox', 'account', 'site'].map((k) =>
		h('option', {value: k, selected: k === (ctx.query.get('kind') || '')}, k || 'any')));
	const st = h('select', {name: 'state'}, ['', 'unprotected', 'activating', 'protected', 'removed', 'destroyed'].map((k) =>
		h('option', {value: k, selected: k === (ctx.query.get('state') || '')}, k || 'any')));
	const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter units'},
		field('Name starts with', name).row, field('Kind', kind).row, field('State', st).row,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Filter')));
	const p = pager(ctx, {
		label: 'Units',
		load: (after, signal) => api('GET', T('/protectionUnits'), {signal, query: {limit: 100, after,
			namePrefix: name.value, kind: kind.value, state: st.value}}),
		render: (items) => unitsTable(ctx, items, 'Protection units').wrap,
		empty: 'No units match.',
	});
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		p.reset();
	});
	await p.reload();
	el.append(form, p.el);
}

// A link to a policy, named once its record is read.
function policyLink(ctx, id) {
	const a = h('a', {href: `#/policies/${encodeURIComponent(id)}`}, id);
	api('GET', T(`/protectionPolicies/${encodeURIComponent(id)}`), {signal: ctx.signal})
		.then((p) => {
			a.textContent = p.name;
		}, () => {});
	return a;
}

function sourceText(src) {
	if (!src)
		return '–';
	if (src.type === 'folder')
		return `folder ${src.path}`;
	if (src.type === 'webdav')
		return `WebDAV ${src.url}`;
	if (src.type === 'imap')
		return `IMAP ${src.user || ''}@${src.host || ''}${src.port ? ':' + src.port : ''}`;
	return src.type;
}

function dl(pairs) {
	return h('dl', {class: 'props'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// Recommended points and anomalies of a unit: Maps seq -> reason, and the
// list grouped by point (the point before an anomaly first). A "fastest"
// point that may hold the damage (it carries a warning) is listed with a
// caution, never highlighted as recommended.
async function recommendations(ctx, id) {
	const rec = new Map(), anom = new Map(), bySeq = new Map();
	try {
		const r = await api('GET', U(id, '/recommendedRestorePoints'), {signal: ctx.signal});
		const order = (x) => (x.kind === 'beforeAnomaly' ? 0 : x.warning ? 2 : 1);
		for (const x of [...(r.recommendations || [])].sort((a, b) => order(a) - order(b))) {
			const kind = x.kind === 'fastest' ? 'fastest to restore' : 'last point before the anomaly';
			if (!bySeq.has(x.restorePoint))
				bySeq.set(x.restorePoint, {seq: x.restorePoint, x, reasons: [], kinds: [], warning: null, before: false});
			const g = bySeq.get(x.restorePoint);
			g.reasons.push(kind + (x.reason ? ` (${x.reason})` : ''));
			g.kinds.push(kind);
			if (x.kind === 'beforeAnomaly')
				g.before = x;
			if (x.warning)
				g.warning = x.warning;
		}
		for (const g of bySeq.values())
			if (!g.warning)
				rec.set(g.seq, g.kinds.join('; ')); // short: the table's notes; the list above has the whole reason
		for (const a of r.anomalies || [])
			anom.set(a.restorePoint, a.reason || 'anomaly');
	} catch (e) {
		showError(e, 'Loading recommendations');
	}
	return {rec, anom, list: [...bySeq.values()]};
}

export {recommendations};

export async function unitPage(ctx, el) {
	const id = ctx.params.id;
	const [unit, {rec, anom, list}] = await Promise.all([api('GET', U(id), {signal: ctx.signal}), recommendations(ctx, id)]);
	knowUnit(unit);

	const actions = [];
	if (ctx.caps.restore)
		actions.push(linkButton('Restore…', `#/restore/${encodeURIComponent(id)}`, {class: 'btn primary'}));
	const backupNote = h('p', {role: 'status', class: 'note-inline'});
	if (ctx.caps.config)
		actions.push(button('Back up now', async () => {
			try {
				const job = await api('POST', U(id, '/backup'));
				followJob(ctx, job, backupNote);
			} catch (e) {
				showError(e, 'Starting a backup');
			}
		}));
	el.append(heading(ctx, unit.name, h('div', {class: 'actions'}, ...actions)), backupNote);
	const before = list.find((g) => g.before);
	if (before)
		el.append(h('p', {class: 'banner bad'}, h('strong', null, 'Anomaly: '),
			`restore point ${before.before.anomalyRestorePoint} looks like ransomware damage. `,
			`The recommended point is ${before.seq}, the last one before it.`));

	el.append(h('details', {class: 'unit-props'}, h('summary', null, 'Unit details'), dl([
		['Kind', unit.kind],
		['Source', sourceText(unit.source)],
		['State', state(unit.state, UNIT_STATES)],
		['Policy', unit.policy ? policyLink(ctx, unit.policy) : 'none'],
		['Last restore point', when(unixOf(unit, 'lastSuccess'))],
		['Last attempt', when(unixOf(unit, 'lastAttempt'))],
		['Next backup due', when(unixOf(unit, 'nextDue'), 'not scheduled')],
		['Failures', unit.failures ? `${unit.failures}: ${unit.lastError || ''}` : 'none'],
		['Last restore drill', drillText(unit.lastDrill)],
		unit.legalHold ? ['Legal hold', `${unit.legalHold.reason} (since ${unit.legalHold.since})`] : null,
		['Id', h('code', null, unit.id)],
	])));

	if (list.length) {
		el.append(h('section', {'aria-labelledby': 'rec-h'}, h('h2', {id: 'rec-h'}, 'Recommended restore points'),
			h('ul', {class: 'recs'}, list.map((g) => h('li', null,
				g.warning ? h('span', {class: 'tag anom'}, 'Caution') : h('span', {class: 'tag rec'}, 'Recommended'), ' ',
				h('strong', null, `Point ${g.seq}`), ', ', when(unixOf(g.x, 'time')), ': ', g.reasons.join('; '),
				g.warning ? h('span', {class: 'warning'}, ' Warning: ' + g.warning) : null)))));
	}

	// The timeline and the table show the same page of points.
	const chartBox = h('div', {class: 'chart'});
	// Jump through a long history by date: points taken until that day.
	const until = h('input', {type: 'date', name: 'until'});
	const jump = h('form', {class: 'filters', role: 'search', 'aria-label': 'Find restore points by date'},
		field('Taken on or before', until, 'empty: the newest').row,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Show points')));
	const p = pager(ctx, {
		label: 'Restore points',
		newer: 'Newer', older: 'Older',
		// The console is served by the binary whose API it calls, so the
		// API's order=desc is always there.
		load: (after, signal) => api('GET', U(id, '/restorePoints'),
			{signal, query: {limit: 100, after, order: 'desc', until: until.value}}),
		render: (items) => {
			fill(chartBox, timeline({points: items, label: `Restore points of ${unit.name}`, anomalies: anom, recommended: rec,
				onPick: (seq) => {
					const row = document.getElementById(`rp-${seq}`);
					if (row) {
						row.scrollIntoView({block: 'center'});
						row.querySelector('a, th')?.focus?.();
					}
				}}), legend());
			return pointsTable(ctx, unit, items, rec, anom);
		},
		empty: 'No restore points yet.',
		noMore: 'No older restore points.',
		onEmpty: () => fill(chartBox),
	});
	jump.addEventListener('submit', (ev) => {
		ev.preventDefault();
		p.reset();
	});
	await p.reload();
	el.append(h('section', {'aria-labelledby': 'tl-h'}, h('h2', {id: 'tl-h'}, 'Restore points'), jump, chartBox, p.el));
	if (ctx.caps.content)
		el.append(compareForm(unit));
}

// Follows a backup job (GET T/jobs, the one page holding just it) every
// 2 s until it ends, in the status line; then offers the new point.
function followJob(ctx, job, note) {
	const say = (j) => fill(note, `Backup job ${j.id}: ${j.state}.`, j.error ? ` ${j.error}` : '');
	say(job);
	const tick = async () => {
		if (ctx.signal.aborted)
			return;
		try {
			const r = await api('GET', T('/jobs'), {query: {after: String(job.id - 1), limit: 1}, signal: ctx.signal});
			const j = (r.items || []).find((x) => x.id === job.id);
			if (j)
				job = j;
		} catch (e) {
			showError(e, 'Following the backup');
			return;
		}
		say(job);
		if (job.state === 'succeeded')
			note.append(' ', h('button', {type: 'button', class: 'link',
				onclick: () => window.dispatchEvent(new HashChangeEvent('hashchange'))}, 'Show the new restore point'));
		else if (job.state !== 'failed')
			setTimeout(tick, 2000);
	};
	setTimeout(tick, 2000);
}

function legend() {
	return h('ul', {class: 'legend', 'aria-label': 'Chart legend'},
		h('li', null, h('span', {class: 'sw sw-new', 'aria-hidden': 'true'}), 'New bytes (log scale)'),
		h('li', null, h('span', {class: 'sw sw-inc', 'aria-hidden': 'true'}), 'Incompressible part'),
		h('li', null, h('span', {class: 'sw sw-anom', 'aria-hidden': 'true'}), 'Anomaly (triangle)'),
		h('li', null, h('span', {class: 'sw sw-rec', 'aria-hidden': 'true'}), 'Recommended (band and circle)'));
}

function pointsTable(ctx, unit, items, rec, anom) {
	const uid = encodeURIComponent(unit.id);
	const heads = ['Point', 'Taken', 'Files', 'Size', 'New', 'Incompressible', 'Changed', 'Notes'];
	if (ctx.caps.content)
		heads.push('Actions');
	const rows = items.map((p, i) => {
		const notes = [];
		if (rec.has(p.seq))
			notes.push(h('span', {class: 'tag rec'}, 'Recommended'), ' ', rec.get(p.seq), ' ');
		if (anom.has(p.seq))
			notes.push(h('span', {class: 'tag anom'}, 'Anomaly'), ' ', anom.get(p.seq));
		if (p.warnings)
			notes.push(` ${p.warnings} warnings`);
		const cells = [String(p.seq), when(unixOf(p, 'time')), num(p.files), bytes(p.bytes), bytes(p.newBytes),
			bytes(p.incompressibleBytes), num(p.changedEntries), notes.length ? h('span', null, ...notes) : ''];
		if (ctx.caps.content) {
			// Compare with the next older point on the page (or seq-1).
			const nb = items[i + 1];
			const prev = nb ? nb.seq : p.seq - 1;
			const older = items.find((x) => x.seq === prev) || (prev > 0 ? {seq: prev} : null);
			cells.push(h('span', {class: 'row-actions'},
				h('a', {href: `#/units/${uid}/points/${p.seq}`, 'aria-label': `Browse point ${p.seq}`}, 'Browse'),
				older ? h('a', {href: `#/units/${uid}/diff/${older.seq}/${p.seq}`,
					'aria-label': `Compare point ${p.seq} with point ${older.seq}`}, 'Compare') : null));
		}
		return cells;
	});
	const t = table(`Restore points of ${unit.name}, newest first`, heads, rows, {rowHeader: true,
		rowClass: () => ''});
	// Row ids and classes for the chart's links.
	[...t.tbody.rows].forEach((tr, i) => {
		tr.id = `rp-${items[i].seq}`;
		tr.cells[7].classList.add('cell-main'); // the notes keep a readable width
		if (anom.has(items[i].seq))
			tr.classList.add('row-anom');
		if (rec.has(items[i].seq))
			tr.classList.add('row-rec');
	});
	return t.wrap;
}

function compareForm(unit) {
	const a = h('input', {type: 'number', min: '1', inputmode: 'numeric', required: true, class: 'narrow'});
	const b = h('input', {type: 'number', min: '1', inputmode: 'numeric', required: true, class: 'narrow'});
	const form = h('form', {class: 'inline-form', 'aria-labelledby': 'cmp-h'},
		h('h2', {id: 'cmp-h'}, 'Compare two points'),
		field('Older point', a).row, field('Newer point', b).row,
		h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Compare points')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		location.hash = `#/units/${encodeURIComponent(unit.id)}/diff/${a.value}/${b.value}`;
	});
	return form;
}
