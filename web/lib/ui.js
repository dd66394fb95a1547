// Pieces every page uses: the alert region, the page heading, a pager over
// the API's {items, next} pages (one page in memory at a time).
import {h, fill, button} from './dom.js';
import {ApiError, notAvailable} from './api.js';

const alertEl = () => document.getElementById('alert');

export function clearAlerts() {
	fill(alertEl());
}

// Shows an API (or other) error in the role="alert" region, with the API's
// own message.
export function showError(err, what) {
	if (err && err.name === 'AbortError')
		return;
	// An API error is the user's to read (and the server's log has it); any
	// other is a bug in the console: the console log (and the tests) see it.
	if (!(err instanceof ApiError))
		console.error(err);
	const msg = err instanceof ApiError
		? `${err.message} (${err.status ? 'HTTP ' + err.status + ' ' : ''}${err.code})`
		: String(err && err.message ? err.message : err);
	const box = h('div', {class: 'error'},
		h('strong', null, what ? `${what} failed: ` : 'Error: '), msg,
		h('button', {type: 'button', class: 'link dismiss', onclick: () => box.remove()}, 'Dismiss'));
	const a = alertEl();
	while (a.childElementCount >= 3)
		a.firstElementChild.remove();
	a.appendChild(box);
}

// A "not available from this server" note for a route an older server lacks.
export function unavailable(what, err) {
	return h('p', {class: 'note'}, `${what} is not available from this server yet`,
		err ? ` (${err.message}).` : '.');
}

// Runs fn, showing its error; returns its value or undefined.
export async function attempt(what, fn) {
	try {
		return await fn();
	} catch (e) {
		showError(e, what);
		return undefined;
	}
}

// The page's one <h1>; focus moves to it after navigation so a screen
// reader hears where it is.
export function heading(ctx, text, ...extra) {
	document.title = `${text} – coffer`;
	const h1 = h('h1', {tabindex: '-1'}, text);
	ctx.h1 = h1;
	return extra.length ? h('div', {class: 'page-head'}, h1, ...extra) : h1;
}

// pager({label, load(after, signal) -> {items, next}, render(items, page) ->
// Node, older, newer}): the current page only; "Older"/"Newer" walk the
// cursors (kept on a stack, since the API's cursors go one way).
export function pager(ctx, opts) {
	const body = h('div', {class: 'pager-body', 'aria-live': 'polite', 'aria-busy': 'false'});
	const status = h('span', {class: 'pager-status'});
	const stack = [null];
	let next = null;
	const newer = h('button', {type: 'button', onclick: () => go(-1)}, opts.newer || 'Newer');
	const older = h('button', {type: 'button', onclick: () => go(1)}, opts.older || 'Older');
	const nav = h('div', {class: 'pager', role: 'group', 'aria-label': opts.label + ' pages'},
		newer, older, status);

	async function load() {
		body.setAttribute('aria-busy', 'true');
		newer.disabled = older.disabled = true;
		try {
			const res = await opts.load(stack[stack.length - 1], ctx.signal);
			if (ctx.signal.aborted)
				return;
			next = res.next || null;
			const items = res.items || [];
			// An empty page after a full one (the API's last cursor) says so.
			fill(body, items.length ? opts.render(items, stack.length)
				: h('p', {class: 'muted'}, stack.length > 1 ? opts.noMore || 'Nothing more.' : opts.empty || 'Nothing yet.'));
			if (!items.length && opts.onEmpty)
				opts.onEmpty();
			status.textContent = `Page ${stack.length}` + (items.length ? ` · ${items.length} shown` : ' · none');
		} catch (e) {
			if (notAvailable(e) && opts.unavailable)
				fill(body, unavailable(opts.unavailable, e));
			else
				showError(e, 'Loading ' + opts.label.toLowerCase());
		} finally {
			body.setAttribute('aria-busy', 'false');
			newer.disabled = stack.length <= 1;
			older.disabled = !next;
		}
	}
	async function go(dir) {
		if (dir > 0 && next)
			stack.push(next);
		else if (dir < 0 && stack.length > 1)
			stack.pop();
		else
			return;
		await load();
	}
	const el = h('div', {class: 'paged'}, body, nav);
	return {el, reload: load, reset() {
		stack.length = 1;
		return load();
	}};
}

// A link styled as a button.
export function linkButton(text, href, attrs = {}) {
	return h('a', Object.assign({href, class: 'btn'}, attrs), text);
}

export {button};
