// Mail: search the tenant's backed-up mail, read one message as data (its
// headers and text put in as text nodes inside <pre>: no markup, no remote
// content, no links made clickable), restore selected messages into a
// Restored-… folder or export the results as mbox.
import {h, fill, field, button, table} from '../lib/dom.js';
import {api, T, U, unitName, notAvailable} from '../lib/api.js';
import {heading, pager, showError, unavailable} from '../lib/ui.js';
import {bytes, num, when, unixOf} from '../lib/fmt.js';

const FILTERS = [
	// query name, label, input type, hint
	['from', 'From', 'text', 'words of the sender'],
	['to', 'To', 'text', 'words of To or Cc'],
	['subject', 'Subject', 'text', null],
	['body', 'Body', 'text', 'words of the text or attachment names'],
	['since', 'Since', 'date', null],
	['until', 'Until', 'date', null],
	['folder', 'Folder', 'text', 'e.g. INBOX or Archive/2023'],
];

const messageHref = (m) => `#/mail/message?unit=${encodeURIComponent(m.unit)}&rp=${encodeURIComponent(m.restorePoint)}` +
	`&path=${encodeURIComponent(m.path)}`;

function unitText(id) {
	const s = h('span', null, id);
	unitName(id).then((n) => {
		s.textContent = n;
	});
	return s;
}

// Restores messages (each {unit, restorePoint, path, points}) with mode
// newLocation: into a new Restored-<time> folder of their mailbox. A
// session takes a unit once, so the messages of one unit come from one
// point: the newest that holds them all (a result's restorePoints), else
// one item per point. Goes to the session's page.
async function restoreToNewFolder(list) {
	const byUnit = new Map();
	for (const m of list) {
		if (!byUnit.has(m.unit))
			byUnit.set(m.unit, []);
		byUnit.get(m.unit).push(m);
	}
	const items = [];
	for (const [unit, ms] of byUnit) {
		let common = null;
		for (const m of ms) {
			const pts = new Set((m.points && m.points.length ? m.points : [m.restorePoint]).map(Number));
			common = common ? new Set([...common].filter((x) => pts.has(x))) : pts;
		}
		if (common && common.size) {
			items.push({unit, restorePoint: Math.max(...common), mode: 'newLocation', paths: ms.map((m) => m.path)});
			continue;
		}
		const byPoint = new Map();
		for (const m of ms) {
			if (!byPoint.has(m.restorePoint))
				byPoint.set(m.restorePoint, {unit, restorePoint: Number(m.restorePoint), mode: 'newLocation', paths: []});
			byPoint.get(m.restorePoint).paths.push(m.path);
		}
		items.push(...byPoint.values());
	}
	const s = await api('POST', T('/restoreSessions'), {body: {items}});
	location.hash = `#/sessions/${encodeURIComponent(s.id)}`;
}

// The points of the result's unit that hold the message under its path
// (its place's restorePoints), else just the point it matched in.
function pointsOf(m) {
	const place = (m.places || []).find((p) => p.unit === m.unit && p.path === m.path);
	return place && Array.isArray(place.restorePoints) ? place.restorePoints.map(Number) : [Number(m.restorePoint)];
}

// Saves a Response body as a file (a blob: URL, revoked at once after).
async function download(res, name) {
	const blob = await res.blob();
	const a = h('a', {href: URL.createObjectURL(blob), download: name, class: 'visually-hidden'}, 'download');
	document.body.append(a);
	a.click();
	setTimeout(() => {
		URL.revokeObjectURL(a.href);
		a.remove();
	}, 1000);
}

export async function mailPage(ctx, el) {
	const q = ctx.query;
	const inputs = {};
	const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Search mail'});
	for (const [name, label, type, hint] of FILTERS) {
		inputs[name] = h('input', {type, name, value: q.get(name) || ''});
		form.append(field(label, inputs[name], hint).row);
	}
	inputs.hasAttachment = h('input', {type: 'checkbox', id: 'f-att', name: 'hasAttachment', checked: q.get('hasAttachment') === 'true'});
	form.append(h('div', {class: 'field check'}, inputs.hasAttachment, h('label', {for: 'f-att'}, 'Has attachment')),
		h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Search')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const p = new URLSearchParams();
		for (const [name] of FILTERS)
			if (inputs[name].value.trim())
				p.set(name, inputs[name].value.trim());
		if (inputs.hasAttachment.checked)
			p.set('hasAttachment', 'true');
		p.set('q', '1'); // a search was asked, even with no filter
		const next = '#/mail?' + p.toString();
		if (location.hash === next)
			window.dispatchEvent(new HashChangeEvent('hashchange'));
		else
			location.hash = next;
	});
	el.append(heading(ctx, 'Mail'), form);
	if (!q.has('q')) {
		el.append(h('p', {class: 'muted'}, 'Search the backed-up mail of every mailbox unit. Each filter narrows the results; all are optional.'));
		return;
	}
	const filters = {};
	for (const [name] of FILTERS)
		if (q.get(name))
			filters[name] = q.get(name);
	if (q.get('hasAttachment') === 'true')
		filters.hasAttachment = 'true';

	const selected = new Map(); // key -> {unit, restorePoint, path, subject}
	const selNote = h('span', {class: 'muted', 'aria-live': 'polite'}, 'None selected.');
	const updateSel = () => {
		selNote.textContent = selected.size ? `${selected.size} selected.` : 'None selected.';
		restoreBtn.disabled = !selected.size || !ctx.caps.restore;
	};
	const restoreBtn = button('Restore selected to a new folder', async () => {
		try {
			await restoreToNewFolder([...selected.values()]);
		} catch (e) {
			showError(e, 'Restoring the selected messages');
		}
	}, {class: 'primary'});
	const exportBtn = button('Export results (mbox)', async () => {
		try {
			const body = Object.assign({format: 'mbox'}, filters);
			if (body.hasAttachment)
				body.hasAttachment = true;
			const res = await api('POST', T('/search/export'), {body, raw: true});
			await download(res, 'coffer-search.mbox');
		} catch (e) {
			showError(e, 'Exporting the results');
		}
	});
	const leftOut = h('div');
	const p = pager(ctx, {
		label: 'Results',
		newer: 'Newer results', older: 'Older results',
		load: async (after, signal) => {
			const r = await api('GET', T('/search'), {query: Object.assign({limit: 50, after}, filters), signal});
			fill(leftOut, r.leftOut && r.leftOut.length ? h('p', {class: 'note'},
				`${r.leftOut.length} restore points could not be searched: `, r.leftOut.map((x) => `${x.restorePoint} (${x.error})`).join('; ')) : null);
			return r;
		},
		render: (items) => {
			const t = table('Search results, newest first', ['Select', 'Date', 'From', 'Subject', 'Folder', 'Mailbox', 'Size'], []);
			for (const m of items) {
				const subj = m.subject || '(no subject)';
				const cb = h('input', {type: 'checkbox', checked: selected.has(m.key + m.path), 'aria-label': `Select ${subj}`});
				cb.addEventListener('change', () => {
					if (cb.checked)
						selected.set(m.key + m.path, {unit: m.unit, restorePoint: m.restorePoint, path: m.path, subject: subj, points: pointsOf(m)});
					else
						selected.delete(m.key + m.path);
					updateSel();
				});
				t.tbody.append(h('tr', null,
					h('td', null, cb),
					h('td', null, when(unixOf(m, 'date'), '–')),
					h('td', {class: 'cell-addr'}, m.from || ''),
					h('th', {scope: 'row', class: 'cell-main'}, h('a', {href: messageHref(m)}, subj),
						m.hasAttachment ? h('span', {class: 'tag'}, 'attachment') : null,
						m.snippet ? h('div', {class: 'hint'}, m.snippet) : null),
					h('td', null, m.folder || ''),
					h('td', null, unitText(m.unit)),
					h('td', null, bytes(m.size))));
			}
			return t.wrap;
		},
		empty: 'No messages match.',
		noMore: 'No older results.',
	});
	await p.reload();
	updateSel();
	const actions = [];
	if (ctx.caps.restore)
		actions.push(restoreBtn);
	actions.push(exportBtn);
	el.append(h('section', {'aria-labelledby': 'res-h'}, h('h2', {id: 'res-h'}, 'Results'), leftOut,
		h('div', {class: 'actions'}, ...actions, selNote), p.el));
}

const MAIN_HEADERS = [['From', 'from'], ['To', 'to'], ['Cc', 'cc'], ['Date', 'date'], ['Message-ID', 'messageId']];

export async function messagePage(ctx, el) {
	const unit = ctx.query.get('unit'), rp = ctx.query.get('rp'), path = ctx.query.get('path');
	if (!unit || !rp || !path) {
		el.append(heading(ctx, 'Message'), h('p', null, 'This link does not name a message.'));
		return;
	}
	let m;
	try {
		m = await api('GET', U(unit, `/restorePoints/${encodeURIComponent(rp)}/message`), {query: {path}, signal: ctx.signal});
	} catch (e) {
		el.append(heading(ctx, 'Message'));
		if (notAvailable(e))
			el.append(unavailable('Reading a message', e));
		else
			showError(e, 'Reading the message');
		el.append(h('p', null, 'Message ', h('code', null, path), ` of point ${rp}.`));
		return;
	}
	const name = await unitName(unit);
	const head = h('dl', {class: 'props'});
	for (const [label, key] of MAIN_HEADERS) {
		if (!m[key])
			continue;
		head.append(h('dt', null, label), h('dd', null, key === 'date' && m.dateUnix ? [m.date, ' (', when(m.dateUnix), ')'] : String(m[key])));
	}
	head.append(h('dt', null, 'Mailbox'), h('dd', null, h('a', {href: `#/units/${encodeURIComponent(unit)}`}, name), `, point ${rp}`),
		h('dt', null, 'Path'), h('dd', null, h('code', null, path)),
		h('dt', null, 'Size'), h('dd', null, bytes(m.size)));
	const actions = [];
	if (ctx.caps.restore)
		actions.push(button('Restore to a new folder', async () => {
			try {
				await restoreToNewFolder([{unit, restorePoint: rp, path}]);
			} catch (e) {
				showError(e, 'Restoring the message');
			}
		}, {class: 'primary'}));
	el.append(heading(ctx, m.subject || '(no subject)', h('div', {class: 'actions'}, ...actions)),
		h('p', null, h('a', {href: '#/mail', onclick: (ev) => {
			if (history.length > 1) {
				ev.preventDefault();
				history.back();
			}
		}}, 'Back to the search')),
		head);
	if (m.attachments && m.attachments.length)
		el.append(h('h2', null, 'Attachments'), h('ul', null, m.attachments.map((a) =>
			h('li', null, a.name || '(unnamed)', h('span', {class: 'muted'}, ` ${a.contentType || ''}, ${bytes(a.size)}`)))),
		h('p', {class: 'hint'}, 'Attachments are not opened here; restore the message to read them in a mail client.'));
	el.append(h('h2', null, 'Text'),
		h('p', {class: 'hint'}, m.textSource === 'html'
			? 'Text taken from the HTML part, shown as plain text: no images, links or scripts are loaded.'
			: 'Shown as plain text: nothing in it is loaded or run.'),
		h('pre', {class: 'message-body', tabindex: '0'}, m.text || ''),
		m.truncated ? h('p', {class: 'note'}, 'The text is cut at 1 MiB.') : null);
	if (m.headers && m.headers.length)
		el.append(h('details', {class: 'headers-all'}, h('summary', null, `All headers (${num(m.headers.length)})`),
			h('dl', {class: 'props'}, m.headers.map((x) => [h('dt', null, x.name), h('dd', null, h('span', {class: 'mono'}, x.value))]))));
}
