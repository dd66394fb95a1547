// The restore wizard: 1 choose a point (recommended first), 2 a mode (in
// place, new location, granular with a file picker), 3 review the dry-run
// plan (POST T/restoreSessions with "dryRun": true), then start the session
// and follow it on its page.
import {h, fill, nid, button, table} from '../lib/dom.js';
import {api, T, U, knowUnit, notAvailable} from '../lib/api.js';
import {heading, showError, unavailable, pager} from '../lib/ui.js';
import {bytes, num, when, unixOf, MODE_NAMES, targetText} from '../lib/fmt.js';
import {recommendations} from './units.js';
import {chunked, parentOf} from './browse.js';

const MODE_HINTS = {
	folder: {
		inPlace: 'Put the whole unit back as it was at the point. Only what differs is rewritten; files the point does not have are removed.',
		newLocation: 'Restore a copy next to the unit (a new folder named after it); the unit itself is not touched.',
		granular: 'Only the files and folders you pick, written back in place.',
	},
	mailbox: {
		inPlace: 'Put every folder of the point back into the mailbox: missing messages appended, flags set back. Newer messages are left alone.',
		newLocation: 'The whole point under a new folder Restored-<time> of the same mailbox.',
		granular: 'Only the folders and messages you pick, written back in place.',
	},
};

function radio(name, value, checked, label, hint, onchange) {
	const id = nid('r');
	const hintId = hint ? id + '-h' : null;
	const input = h('input', {type: 'radio', name, value, id, checked, 'aria-describedby': hintId});
	input.addEventListener('change', () => input.checked && onchange(value));
	// The hint is outside the label: the radio's name stays short ("In
	// place"), the hint is its description.
	return h('div', {class: 'choice'}, input, h('div', null, h('label', {for: id}, label),
		hint ? h('span', {class: 'hint', id: hintId}, hint) : null));
}

function group(legend, ...children) {
	const id = nid('lg');
	return h('fieldset', {role: 'radiogroup', 'aria-labelledby': id}, h('legend', {id}, legend), ...children);
}

export async function restorePage(ctx, el) {
	const id = ctx.params.unit;
	const [unit, {rec, anom, list}] = await Promise.all([api('GET', U(id), {signal: ctx.signal}), recommendations(ctx, id)]);
	knowUnit(unit);
	const hints = MODE_HINTS[unit.kind === 'mailbox' ? 'mailbox' : 'folder'];
	const st = {seq: null, mode: 'inPlace', paths: new Set(), step: 1};
	const firstRec = list.find((g) => !g.warning);
	if (firstRec)
		st.seq = firstRec.seq;

	const stepsNav = h('ol', {class: 'steps', 'aria-label': 'Steps'});
	const body = h('div');
	const STEPS = ['Restore point', 'Mode', 'Review'];
	// Shows step n. The button that led here is gone, so the keyboard
	// focus moves into the new step: its chosen radio, or the review's
	// heading (not on the page's first load: the h1 has it then).
	function show(n, first = false) {
		st.step = n;
		fill(stepsNav, STEPS.map((s, i) => h('li', {'aria-current': i + 1 === n ? 'step' : null}, `${i + 1}. ${s}`)));
		const f = n === 1 ? step1 : n === 2 ? step2 : step3;
		const focusIn = () => {
			const target = body.querySelector('input[type=radio]:checked') || body.querySelector('h2') ||
				body.querySelector('input, button');
			if (first || !target)
				return;
			if (target.tagName === 'H2')
				target.setAttribute('tabindex', '-1');
			target.focus();
		};
		const done = f();
		// Step 1 fills the page after loading its points; the others at once.
		if (n === 1)
			return done.then(focusIn);
		focusIn();
		return done;
	}

	// Step 1: the point. Recommended first, then the unit's points newest
	// first, a page at a time.
	async function step1() {
		const pick = (v) => {
			if (st.seq !== Number(v))
				st.paths.clear(); // picked in another point
			st.seq = Number(v);
		};
		const recRadios = list.filter((g) => !g.warning).map((g) => radio('rp', String(g.seq), st.seq === g.seq,
			[`Point ${g.seq}, `, when(unixOf(g.x, 'time')), ' — ', h('span', {class: 'tag rec'}, 'Recommended')],
			g.reasons.join('; '), pick));
		const shown = new Set(list.filter((g) => !g.warning).map((g) => g.seq));
		const p = pager(ctx, {
			label: 'Other restore points',
			newer: 'Newer points', older: 'Older points',
			load: (after, signal) => api('GET', U(id, '/restorePoints'), {signal, query: {limit: 20, after, order: 'desc'}}),
			render: (items) => {
				if (st.seq === null && items.length)
					st.seq = items[0].seq;
				return h('div', null, items.filter((p) => !shown.has(p.seq)).map((p) => radio('rp', String(p.seq), st.seq === p.seq,
					[`Point ${p.seq}, `, when(unixOf(p, 'time')), anom.has(p.seq) ? [' — ', h('span', {class: 'tag anom'}, 'Anomaly')] : null],
					`${num(p.files)} files, ${bytes(p.bytes)}` + (anom.has(p.seq) ? `. ${anom.get(p.seq)}` : ''), pick)));
			},
			empty: 'This unit has no restore points.',
			noMore: 'No older restore points.',
		});
		await p.reload();
		const next = h('button', {type: 'submit', class: 'primary'}, 'Next');
		const form = h('form', null,
			group('Restore point',
				recRadios.length ? [h('p', {class: 'hint'}, 'Recommended:'), ...recRadios, h('p', {class: 'hint'}, 'All points, newest first:')] : null,
				p.el),
			h('div', {class: 'actions'}, next));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			if (st.seq === null) {
				showError(new Error('choose a restore point'), 'Next step');
				return;
			}
			show(2);
		});
		fill(body, form);
	}

	// Step 2: the mode; granular picks files from the point.
	async function step2() {
		const pickerBox = h('div');
		const setMode = (m) => {
			st.mode = m;
			renderPicker();
		};
		// Granular needs files; a new location may take some (only those
		// restored next to the unit) or none (the whole unit).
		function renderPicker() {
			if (st.mode === 'inPlace') {
				fill(pickerBox);
				return;
			}
			fill(pickerBox, filePicker(ctx, unit, st, st.mode === 'granular' ? 'Files to restore'
				: 'Files to restore (optional: none picked restores the whole unit)'));
		}
		const form = h('form', null,
			h('p', null, `Restoring ${unit.name} from point ${st.seq}.`),
			group('Mode', ...['inPlace', 'newLocation', 'granular'].map((m) =>
				radio('mode', m, st.mode === m, MODE_NAMES[m], hints[m], setMode))),
			pickerBox,
			h('div', {class: 'actions'},
				h('button', {type: 'button', onclick: () => show(1)}, 'Back'),
				h('button', {type: 'submit', class: 'primary'}, 'Next')));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			if (st.mode === 'granular' && !st.paths.size) {
				showError(new Error('pick at least one file or folder for a granular restore'), 'Next step');
				return;
			}
			show(3);
		});
		renderPicker();
		fill(body, form);
	}

	function item() {
		const it = {unit: id, restorePoint: st.seq, mode: st.mode};
		if (st.mode !== 'inPlace' && st.paths.size)
			it.paths = [...st.paths];
		return it;
	}

	// Step 3: what will change, then start.
	async function step3() {
		const planBox = h('div', {'aria-live': 'polite'}, h('p', {class: 'muted'}, 'Working out what will change…'));
		const start = button('Start restore', async () => {
			try {
				const s = await api('POST', T('/restoreSessions'), {body: {items: [item()]}});
				location.hash = `#/sessions/${encodeURIComponent(s.id)}`;
			} catch (e) {
				showError(e, 'Starting the restore');
			}
		}, {class: 'primary'});
		fill(body, h('section', {'aria-labelledby': 'review-h'},
			h('h2', {id: 'review-h'}, 'Review'),
			h('dl', {class: 'props'},
				h('dt', null, 'Unit'), h('dd', null, unit.name),
				h('dt', null, 'Restore point'), h('dd', null, `Point ${st.seq}`, rec.has(st.seq) ? [' ', h('span', {class: 'tag rec'}, 'Recommended')] : null,
					anom.has(st.seq) ? [' ', h('span', {class: 'tag anom'}, 'Anomaly')] : null),
				h('dt', null, 'Mode'), h('dd', null, MODE_NAMES[st.mode]),
				st.mode !== 'inPlace' && st.paths.size ? [h('dt', null, 'Paths'), h('dd', null, h('ul', {class: 'picked'}, [...st.paths].map((p) => h('li', null, p))))] : null),
			planBox,
			h('div', {class: 'actions'}, h('button', {type: 'button', onclick: () => show(2)}, 'Back'), start)));
		try {
			const plan = await api('POST', T('/restoreSessions'), {body: {dryRun: true, items: [item()]}, signal: ctx.signal});
			fill(planBox, ...(plan.items || []).map(planView));
		} catch (e) {
			if (notAvailable(e) || (e.status === 400 && /dryRun/.test(e.message)))
				fill(planBox, unavailable('The restore plan (dry run)', e), h('p', null, 'You can still start the restore.'));
			else {
				fill(planBox);
				showError(e, 'Planning the restore');
			}
		}
	}

	el.append(heading(ctx, `Restore ${unit.name}`), stepsNav, body);
	await show(1, true);
}

const SAMPLE_WORDS = {write: 'write', remove: 'remove', attrs: 'metadata'};
const SAMPLE_CLASS = {write: 'chg-added', remove: 'chg-removed', attrs: 'chg-changed'};

// The dry-run plan of one item; bare: without its own heading (the
// caller names the unit).
function planView(p, bare = false) {
	const sample = p.sample || [];
	if (p.error)
		return h('div', {class: 'plan'}, bare ? null : h('h3', null, 'What will change'),
			h('p', {class: 'banner bad'}, h('strong', null, 'The plan failed: '), p.error,
				' The restore would most likely fail the same way.'));
	return h('div', {class: 'plan'},
		bare ? null : h('h3', null, 'What will change'),
		p.plan === 'estimate' ? h('p', {class: 'note'}, 'This source cannot tell cheaply what differs: the counts are an estimate.') : null,
		h('dl', {class: 'counters small'},
			h('div', {class: 'counter chg-added'}, h('dt', null, 'Write'), h('dd', null, num(p.write))),
			h('div', {class: ['counter', 'chg-removed', p.remove ? 'bad' : '']}, h('dt', null, 'Remove'), h('dd', null, num(p.remove))),
			p.attrs ? h('div', {class: 'counter'}, h('dt', null, 'Metadata only'), h('dd', null, num(p.attrs))) : null,
			h('div', {class: 'counter'}, h('dt', null, 'Unchanged'), h('dd', null, num(p.unchanged))),
			h('div', {class: 'counter'}, h('dt', null, 'Bytes to write'), h('dd', null, bytes(p.bytes)))),
		p.target ? h('p', null, 'Target: ', h('code', null, targetText(p.target))) : null,
		p.remove ? h('p', {class: 'banner bad'}, p.remove === 1 ? '1 entry that the point does not have will be removed.'
			: `${num(p.remove)} entries that the point does not have will be removed.`) : null,
		!p.write && !p.remove && !p.attrs && p.plan !== 'estimate'
			? h('p', {class: 'banner ok'}, 'Nothing differs: the unit already matches this point.') : null,
		sample.length ? [h('h4', null, `Sample (${sample.length} of ${num((p.write || 0) + (p.remove || 0) + (p.attrs || 0))})`),
			h('ul', {class: 'plan-sample', tabindex: '0', 'aria-label': 'Sample of the changes'},
				sample.map((x) => h('li', null, h('span', {class: ['tag', SAMPLE_CLASS[x.action] || '']}, SAMPLE_WORDS[x.action] || x.action),
					' ', x.path)))] : null);
}

// A file picker over a point's items: folders open, checkboxes select.
function filePicker(ctx, unit, st, legend) {
	const listBox = h('div');
	const picked = h('ul', {class: 'picked', 'aria-live': 'polite'});
	const where = h('p', {tabindex: '-1'});
	function renderPicked() {
		fill(picked, st.paths.size ? [...st.paths].map((p) => h('li', null, p, ' ',
			h('button', {type: 'button', class: 'link', 'aria-label': `Remove ${p}`, onclick: () => {
				st.paths.delete(p);
				renderPicked();
				const cb = listBox.querySelector(`input[data-path="${CSS.escape(p)}"]`);
				if (cb)
					cb.checked = false;
			}}, 'remove'))) : h('li', {class: 'muted'}, 'nothing picked yet'));
	}
	async function open(path, moved = true) {
		fill(where, 'Folder ', h('code', null, path));
		fill(listBox, h('p', {class: 'muted'}, 'Loading…'));
		try {
			const res = await api('GET', U(unit.id, `/restorePoints/${st.seq}/items`), {query: {path}, signal: ctx.signal});
			const items = (res.items || []).slice().sort((a, b) =>
				((b.type === 'dir') - (a.type === 'dir')) || String(a.name).localeCompare(String(b.name)));
			const t = table(`Pick from ${path}`, ['Select', 'Name', 'Type', 'Size'], []);
			if (path !== '/') {
				const up = parentOf(path);
				t.tbody.append(h('tr', null, h('td'), h('td', null, h('button', {type: 'button', class: 'link', onclick: () => open(up)}, '../ (parent folder)')), h('td', null, 'dir'), h('td')));
			}
			const rowOf = (it) => {
				const p = it.path || (path.replace(/\/$/, '') + '/' + it.name);
				const cid = nid('pick');
				const cb = h('input', {type: 'checkbox', id: cid, 'data-path': p, checked: st.paths.has(p)});
				cb.addEventListener('change', () => {
					if (cb.checked)
						st.paths.add(p);
					else
						st.paths.delete(p);
					renderPicked();
				});
				return h('tr', null, h('td', null, cb, h('label', {for: cid, class: 'visually-hidden'}, `Select ${p}`)),
					h('td', null, it.type === 'dir'
						? h('button', {type: 'button', class: 'link', 'aria-label': `Open folder ${it.name}`, onclick: () => open(p)}, it.name + '/')
						: it.name),
					h('td', null, it.type), h('td', null, it.type === 'dir' ? '' : bytes(it.size)));
			};
			fill(listBox, t.wrap, chunked(t.tbody, items, rowOf, 'items'));
			// The button that opened the folder is gone: keep the keyboard
			// focus in the picker.
			if (listBox.isConnected && moved)
				where.focus();
		} catch (e) {
			fill(listBox);
			showError(e, 'Listing ' + path);
		}
	}
	renderPicked();
	open('/', false);
	return h('fieldset', null, h('legend', null, legend), where, listBox,
		h('h3', null, 'Picked'), picked);
}

// Several units at once, each from its recommended point before the
// anomaly, in place: after ransomware hit many units (the overview's
// "Restore all flagged units…"). #/restore?units=u-1,u-2
export async function restoreManyPage(ctx, el) {
	const ids = (ctx.query.get('units') || '').split(',').filter(Boolean);
	el.append(heading(ctx, 'Restore flagged units'));
	if (!ids.length) {
		el.append(h('p', null, 'No units named. ', h('a', {href: '#/overview'}, 'Back to the overview')));
		return;
	}
	const rows = await Promise.all(ids.map(async (id) => {
		const [unit, r] = await Promise.all([api('GET', U(id), {signal: ctx.signal}), recommendations(ctx, id)]);
		knowUnit(unit);
		const before = r.list.find((g) => g.before);
		return {unit, seq: before ? before.seq : null, on: !!before,
			why: before ? before.before.reason || 'the last point before the anomaly' : null};
	}));
	const body = h('div');
	el.append(h('p', null, 'Each unit is put back in place from the last restore point before its anomaly. ',
		'Only what differs is rewritten; files the point does not have are removed.'), body);

	const items = () => rows.filter((r) => r.on && r.seq !== null)
		.map((r) => ({unit: r.unit.id, restorePoint: r.seq, mode: 'inPlace'}));

	function choose(again = false) {
		const t = table('Units to restore', ['Restore', 'Unit', 'Point', 'Why this point'], []);
		for (const r of rows) {
			const cb = h('input', {type: 'checkbox', checked: r.on, disabled: r.seq === null, 'aria-label': `Include ${r.unit.name}`});
			cb.addEventListener('change', () => {
				r.on = cb.checked;
			});
			t.tbody.append(h('tr', null, h('td', null, cb),
				h('th', {scope: 'row'}, h('a', {href: `#/units/${encodeURIComponent(r.unit.id)}`}, r.unit.name)),
				h('td', null, r.seq === null ? 'none' : String(r.seq)),
				h('td', {class: 'cell-main'}, r.why || 'No recommendation before an anomaly: restore it from its own page.')));
		}
		const next = h('button', {type: 'button', class: 'primary'}, 'Next');
		next.addEventListener('click', () => {
			if (!items().length) {
				showError(new Error('choose at least one unit'), 'Next step');
				return;
			}
			review();
		});
		fill(body, t.wrap, h('div', {class: 'actions'}, next));
		if (again)
			body.querySelector('input')?.focus(); // "Back" is gone
	}

	async function review() {
		const list = items();
		const planBox = h('div', {'aria-live': 'polite'}, h('p', {class: 'muted'}, 'Working out what will change…'));
		const start = button('Start restore', async () => {
			try {
				const s = await api('POST', T('/restoreSessions'), {body: {items: list}});
				location.hash = `#/sessions/${encodeURIComponent(s.id)}`;
			} catch (e) {
				showError(e, 'Starting the restore');
			}
		}, {class: 'primary'});
		const back = h('button', {type: 'button', onclick: () => choose(true)}, 'Back');
		const h2 = h('h2', {tabindex: '-1'}, 'Review');
		fill(body, h2, planBox, h('div', {class: 'actions'}, back, start));
		h2.focus();
		try {
			const plan = await api('POST', T('/restoreSessions'), {body: {dryRun: true, items: list}, signal: ctx.signal});
			fill(planBox, (plan.items || []).map((p) => {
				const r = rows.find((x) => x.unit.id === p.unit);
				return h('section', {class: 'card'}, h('h3', null, `${r ? r.unit.name : p.unit}, point ${p.restorePoint}`), planView(p, true));
			}));
		} catch (e) {
			fill(planBox);
			showError(e, 'Planning the restore');
		}
	}
	choose();
}
