// The one way to the HTTP API (docs/api.md): the token from the tab's
// session storage as a Bearer header, JSON in and out, errors as ApiError
// carrying the API's own message. A 401 forgets the token and goes back to
// sign-in. No cookies are used, so there is nothing for CSRF to ride on.

const TOKEN_KEY = 'coffer.token';
const RETURN_KEY = 'coffer.return';
const EXPIRED_KEY = 'coffer.expired'; // why the last page sent back to sign-in

// The reason the token stopped working, once (for the sign-in page).
export function takeExpired() {
	const r = sessionStorage.getItem(EXPIRED_KEY);
	sessionStorage.removeItem(EXPIRED_KEY);
	return r;
}

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

export const auth = {
	get token() {
		return sessionStorage.getItem(TOKEN_KEY);
	},
	set(token) {
		sessionStorage.setItem(TOKEN_KEY, token);
	},
	clear() {
		sessionStorage.removeItem(TOKEN_KEY);
		auth.who = null;
	},
	// {token, tenant, role} from GET /v1/whoami, and tenantName when known.
	who: null,
};

// Where to go back to after signing in again.
export function rememberRoute(hash) {
	if (hash && hash.startsWith('#/') && !hash.startsWith('#/signin'))
		sessionStorage.setItem(RETURN_KEY, hash);
}
export function takeReturnRoute() {
	const r = sessionStorage.getItem(RETURN_KEY);
	sessionStorage.removeItem(RETURN_KEY);
	return r;
}

function url(path, query) {
	const u = new URL(path, location.origin);
	for (const [k, v] of Object.entries(query || {}))
		if (v !== undefined && v !== null && v !== '')
			u.searchParams.set(k, String(v));
	return u.pathname + u.search;
}

async function errorOf(res) {
	let code = 'http_' + res.status, message = `${res.status} ${res.statusText}`;
	try {
		const j = await res.json();
		if (j && j.error) {
			code = j.error.code || code;
			message = j.error.message || message;
		}
	} catch (e) {
		// not JSON: keep the status line
	}
	return new ApiError(res.status, code, message);
}

// api('GET', '/v1/whoami', {query, body, signal, raw}) -> parsed JSON (or
// the Response when raw). Throws ApiError.
export async function api(method, path, opts = {}) {
	const headers = {Accept: 'application/json'};
	const token = opts.token || auth.token;
	if (token)
		headers.Authorization = 'Bearer ' + token;
	let body;
	if (opts.body !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(opts.body);
	}
	let res;
	try {
		res = await fetch(url(path, opts.query), {method, headers, body, signal: opts.signal,
			credentials: 'omit', cache: 'no-store'});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', 'the server did not answer (' + e.message + ')');
	}
	if (res.status === 401 && !opts.token) {
		const err = await errorOf(res);
		auth.clear();
		rememberRoute(location.hash);
		sessionStorage.setItem(EXPIRED_KEY, err.message);
		location.hash = '#/signin';
		throw err;
	}
	if (!res.ok)
		throw await errorOf(res);
	if (opts.raw)
		return res;
	if (res.status === 204)
		return null;
	return res.json();
}

// The tenant's path prefix T of docs/api.md.
export function T(path = '') {
	return `/v1/tenants/${encodeURIComponent(auth.who.tenant)}${path}`;
}
// U: a unit's path.
export function U(unit, path = '') {
	return T(`/protectionUnits/${encodeURIComponent(unit)}${path}`);
}

// Whether an error says the server does not have the route or parameter
// (an older server than the console).
// (A 404 for a record that does not exist says so differently from the
// router's "no such resource".)
export function notAvailable(err) {
	return err instanceof ApiError && ((err.status === 404 && /^no such resource/.test(err.message)) ||
		err.status === 405 || (err.status === 400 && /unknown (query )?(parameter|field)/i.test(err.message)));
}

// What each role may see (docs/api.md "Roles and permissions"); the API
// still decides what is allowed.
export function caps(role) {
	const c = {status: false, content: false, restore: false, config: false,
		audit: false, tokens: false, global: false, privacy: false};
	switch (role) {
	case 'globalAdmin':
		Object.assign(c, {global: true, audit: true, tokens: true});
		break;
	case 'tenantAdmin':
		Object.assign(c, {status: true, content: true, restore: true, config: true,
			audit: true, tokens: true, privacy: true});
		break;
	case 'restoreOperator':
		Object.assign(c, {status: true, content: true, restore: true});
		break;
	case 'auditor':
		Object.assign(c, {status: true, audit: true});
		break;
	case 'privacyOfficer':
		Object.assign(c, {status: true, audit: true, privacy: true});
		break;
	}
	return c;
}

const unitNames = new Map();
// The name of a unit, fetched once per page load (and cached).
export function unitName(id) {
	if (!unitNames.has(id))
		unitNames.set(id, api('GET', U(id)).then((u) => u.name, () => id));
	return unitNames.get(id);
}
export function knowUnit(u) {
	if (u && u.id && u.name)
		unitNames.set(u.id, Promise.resolve(u.name));
}
