// The coffer console: a hash router over pages that each call the HTTP API
// (docs/console.md). No framework, no build step: ES modules served as is.
import {h, fill, add} from './lib/dom.js';
import {api, auth, caps, takeReturnRoute, rememberRoute, ApiError} from './lib/api.js';
import {clearAlerts, showError} from './lib/ui.js';
import {ROLE_NAMES} from './lib/fmt.js';
import {signinPage} from './pages/signin.js';
import {overviewPage} from './pages/overview.js';
import {unitsPage, unitPage} from './pages/units.js';
import {browsePage, diffPage} from './pages/browse.js';
import {restorePage, restoreManyPage} from './pages/restore.js';
import {sessionsPage, sessionPage} from './pages/sessions.js';
import {mailPage, messagePage} from './pages/mail.js';
import {policiesPage, policyPage} from './pages/policies.js';
import {auditPage} from './pages/audit.js';
import {tenantsPage, tokensPage} from './pages/admin.js';

// path pattern, page, the capability it needs (lib/api.js caps)
const ROUTES = [
	['/signin', signinPage, null],
	['/overview', overviewPage, 'status'],
	['/units', unitsPage, 'status'],
	['/units/:id', unitPage, 'status'],
	['/units/:id/points/:seq', browsePage, 'content'],
	['/units/:id/diff/:a/:b', diffPage, 'content'],
	['/restore', restoreManyPage, 'restore'],
	['/restore/:unit', restorePage, 'restore'],
	['/sessions', sessionsPage, 'status'],
	['/sessions/:id', sessionPage, 'status'],
	['/mail', mailPage, 'content'],
	['/mail/message', messagePage, 'content'],
	['/policies', policiesPage, 'status'],
	['/policies/new', policyPage, 'config'],
	['/policies/:id', policyPage, 'status'],
	['/audit', auditPage, 'audit'],
	['/tenants', tenantsPage, 'global'],
	['/tokens', tokensPage, 'tokens'],
];

// Main navigation: text, route, capability.
const NAV = [
	['Overview', '#/overview', 'status'],
	['Units', '#/units', 'status'],
	['Restore sessions', '#/sessions', 'status'],
	['Mail', '#/mail', 'content'],
	['Policies', '#/policies', 'status'],
	['Tenants', '#/tenants', 'global'],
	['Audit log', '#/audit', 'audit'],
	['Tokens', '#/tokens', 'tokens'],
];

function match(path) {
	const parts = path.split('/').filter(Boolean);
	for (const [pattern, page, need] of ROUTES) {
		const pp = pattern.split('/').filter(Boolean);
		if (pp.length !== parts.length)
			continue;
		const params = {};
		let ok = true;
		for (let i = 0; i < pp.length && ok; i++) {
			if (pp[i].startsWith(':'))
				params[pp[i].slice(1)] = decodeURIComponent(parts[i]);
			else
				ok = pp[i] === parts[i];
		}
		if (ok)
			return {page, need, params};
	}
	return null;
}

function homeOf(c) {
	return c.status ? '#/overview' : c.global ? '#/tenants' : c.audit ? '#/audit' : '#/signin';
}

function renderChrome() {
	const who = document.getElementById('who');
	const nav = document.getElementById('nav');
	if (!auth.who) {
		who.hidden = true;
		nav.hidden = true;
		return;
	}
	const c = caps(auth.who.role);
	const tenant = auth.who.tenant
		? [' · tenant ', h('strong', null, auth.who.tenantName || auth.who.tenant)] : null;
	fill(who, h('span', {class: 'role'}, 'Signed in as ', h('strong', null, ROLE_NAMES[auth.who.role] || auth.who.role), tenant),
		h('button', {type: 'button', onclick: signOut}, 'Sign out'));
	who.hidden = false;
	fill(document.getElementById('navlist'), NAV.filter(([, , need]) => c[need]).map(([text, href]) =>
		h('li', null, h('a', {href}, text))));
	nav.hidden = false;
	markCurrent();
}

function markCurrent() {
	const path = location.hash.split('?')[0];
	for (const a of document.querySelectorAll('#navlist a')) {
		const href = a.getAttribute('href');
		const cur = path === href || path.startsWith(href + '/') ||
			(href === '#/units' && path.startsWith('#/restore')) ||
			(href === '#/mail' && path.startsWith('#/mail'));
		if (cur)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	}
}

function signOut() {
	auth.clear();
	renderChrome();
	location.hash = '#/signin';
}

// Who the token is: GET /v1/whoami (role, tenant and its name).
export async function loadWho() {
	const w = await api('GET', '/v1/whoami');
	auth.who = w;
	renderChrome();
	return w;
}

let current = null; // {abort} of the page on screen

async function route() {
	const hash = location.hash || '#/';
	if (!hash.startsWith('#/'))
		return; // an in-page anchor
	const [path, qs] = hash.slice(1).split('?');
	if (current)
		current.abort();
	const ctl = new AbortController();
	current = ctl;
	clearAlerts();
	const el = document.getElementById('page');

	if (!auth.token && path !== '/signin') {
		rememberRoute(hash);
		location.replace('#/signin');
		return;
	}
	if (auth.token && !auth.who && path !== '/signin') {
		try {
			await loadWho();
		} catch (e) {
			if (!(e instanceof ApiError && e.status === 401))
				showError(e, 'Signing in');
			return;
		}
		if (ctl.signal.aborted)
			return;
	}
	if (path === '/' || path === '') {
		location.replace(homeOf(caps(auth.who.role)));
		return;
	}
	const m = match(path);
	const ctx = {params: m ? m.params : {}, query: new URLSearchParams(qs || ''), signal: ctl.signal,
		who: auth.who, caps: auth.who ? caps(auth.who.role) : {}, el, h1: null, loadWho, renderChrome, afterSignIn};
	markCurrent();
	fill(el, h('p', {class: 'muted'}, 'Loading…'));
	if (!m) {
		fill(el, h('h1', {tabindex: '-1'}, 'Page not found'), h('p', null, 'There is no page ', h('code', null, path), '. ',
			h('a', {href: '#/'}, 'Go to the start page')));
		document.title = 'Page not found – coffer';
		focusHeading(el);
		return;
	}
	if (m.need && !ctx.caps[m.need]) {
		fill(el, h('h1', {tabindex: '-1'}, 'Not available'), h('p', null,
			'Your role (', ROLE_NAMES[auth.who.role] || auth.who.role, ') does not give access to this page.'));
		document.title = 'Not available – coffer';
		focusHeading(el);
		return;
	}
	try {
		const node = h('div');
		// Pages append optional parts as `cond ? x : null`: skip the nulls
		// (the DOM's append would write "null").
		node.append = (...xs) => add(node, ...xs);
		await m.page(ctx, node);
		if (ctl.signal.aborted)
			return;
		fill(el, node);
		focusHeading(el);
	} catch (e) {
		if (ctl.signal.aborted)
			return;
		fill(el, h('h1', {tabindex: '-1'}, 'Could not load the page'));
		showError(e);
	}
}

let firstRoute = true;
function focusHeading(el) {
	if (firstRoute) {
		firstRoute = false; // a fresh load starts at the top, as browsers do
		return;
	}
	const h1 = el.querySelector('h1');
	if (h1) {
		h1.setAttribute('tabindex', '-1');
		h1.focus({preventScroll: false});
	}
}

function start() {
	// #token=… (for scripted screenshots): moved to session storage at once
	// and taken out of the address and the history.
	const m = /^#token=([A-Za-z0-9_-]+)(?:&go=(.*))?$/.exec(location.hash);
	if (m) {
		auth.set(m[1]);
		history.replaceState(null, '', location.pathname + (m[2] ? decodeURIComponent(m[2]) : '#/'));
	}
	document.getElementById('skip').addEventListener('click', (ev) => {
		ev.preventDefault();
		document.getElementById('main').focus();
	});
	window.addEventListener('hashchange', route);
	route();
}

export function afterSignIn() {
	location.hash = takeReturnRoute() || homeOf(caps(auth.who.role));
}

start();
