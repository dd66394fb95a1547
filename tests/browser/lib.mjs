// Shared helpers of the browser tests of the web console
// (tests/e2e/console.sh runs console.mjs; bench/console.sh runs bench.mjs):
// Debian's Chromium driven over the DevTools protocol by playwright-core
// (no browser is ever downloaded), TAP result lines the suite counts, sign
// in, an axe-core check of a page, screenshots, and a watch on console
// errors, CSP violations and requests of every page.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// No network but loopback, no updates, no first-run or sync calls home:
// a test run must not reach anything the console does not ask for.
export const CHROMIUM_ARGS = [
	'--no-sandbox', // root in CI; the pages are our own
	'--disable-gpu',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--no-first-run',
	'--disable-quic',
];

// launch(): a headless Chromium.
export function launch() {
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

const T0 = Date.now();

// ---- TAP: "ok - console: NAME" / "not ok - console: NAME (WHY)" ----

export class Tap {
	constructor(prefix) {
		this.prefix = prefix;
		this.failed = 0;
		this.passed = 0;
	}
	ok(name) {
		this.passed++;
		if (process.env.CONSOLE_TIMING) console.log(`# +${((Date.now() - T0) / 1000).toFixed(1)} s`);
		console.log(`ok - ${this.prefix}: ${name}`);
	}
	notOk(name, why) {
		this.failed++;
		const w = String(why ?? '').replace(/\s+/g, ' ').slice(0, 600);
		console.log(`not ok - ${this.prefix}: ${name} (${w})`);
	}
	// is(NAME, COND, WHY): one line, ok when COND holds.
	is(name, cond, why) {
		if (cond) this.ok(name);
		else this.notOk(name, why);
		return !!cond;
	}
	// check(NAME, FN): runs FN; an exception is a "not ok" with its message,
	// a string returned is one too; anything else is "ok". Returns whether it passed.
	async check(name, fn) {
		try {
			const r = await fn();
			if (typeof r === 'string') {
				this.notOk(name, r);
				return false;
			}
			this.ok(name);
			return true;
		} catch (e) {
			this.notOk(name, firstLine(e));
			return false;
		}
	}
	note(text) {
		for (const l of String(text).split('\n')) console.log(`# ${l}`);
	}
}

// firstLine(ERR): an exception's message without playwright's call log.
export function firstLine(e) {
	const m = String(e?.message ?? e);
	return m.split('\n').filter((l) => l.trim() && !/^=+/.test(l.trim())).slice(0, 3).join(' ');
}

// ---- pages that report what goes wrong in them ----

// A watched page collects, until taken, the console errors, uncaught
// exceptions, CSP violations and failed requests of a page, and every
// request it makes (for the "no remote content" checks).
export class Watched {
	constructor(page, base) {
		this.page = page;
		this.origin = new URL(base).origin;
		this.problems = [];
		this.requests = [];
		page.on('console', (msg) => {
			if (msg.type() === 'error') this.problems.push(`console error: ${msg.text()}`);
		});
		page.on('pageerror', (err) => this.problems.push(`uncaught: ${firstLine(err)}`));
		// The console never asks (no alert, confirm or prompt in the pages
		// tested): a dialog is a script of someone else's running.
		page.on('dialog', (d) => {
			this.problems.push(`dialog (${d.type()}): ${d.message()}`);
			d.dismiss().catch(() => {});
		});
		page.on('request', (req) => {
			this.requests.push(req.url());
			if (!req.url().startsWith(this.origin + '/') && !req.url().startsWith('data:') &&
			    req.url() !== 'about:blank')
				this.problems.push(`request outside the console's origin: ${req.url()}`);
		});
	}
	// take(): the problems seen since the last take, and forget them.
	take() {
		const p = this.problems;
		this.problems = [];
		return p;
	}
}

// newWatched(BROWSER, BASE, OPTIONS): a fresh context (its own session
// storage, so its own sign-in) and page, watched; OPTIONS for newContext
// (viewport, colorScheme). CSP stays enforced: axe is put in through the
// DevTools protocol (page.evaluate), which the page's CSP does not govern.
export async function newWatched(browser, base, options = {}) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
	const page = await context.newPage();
	const w = new Watched(page, base);
	await page.exposeBinding('__cofferCspViolation', (_src, v) => {
		w.problems.push(`CSP violation: ${v}`);
	});
	await page.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__cofferCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} ` +
				`at ${e.sourceFile || '?'}:${e.lineNumber || 0}`);
		});
	});
	page.setDefaultTimeout(Number(process.env.CONSOLE_TIMEOUT_MS || 8000));
	return w;
}

// signIn(W, BASE, TOKEN): opens the console and signs in with TOKEN; waits
// for the main navigation.
export async function signIn(w, base, token) {
	const page = w.page;
	await page.goto(base + '/');
	await page.getByLabel('API token').fill(token);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('navigation', { name: 'Main' }).waitFor();
	await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// go(W, BASE, HASH): navigates to a route and waits for its page: exactly
// one visible h1 and nothing marked busy in main.
export async function go(w, base, hash) {
	const page = w.page;
	const url = base + '/' + hash;
	if (page.url() === url) await page.reload();
	else await page.goto(url);
	await settle(page);
}

// settle(PAGE): the page's h1 shown, no aria-busy in main, no
// "Loading…" paragraph left; then one frame.
export async function settle(page) {
	await page.locator('main h1').first().waitFor();
	await page.waitForFunction(() => {
		const m = document.querySelector('main');
		return m && !m.querySelector('[aria-busy="true"]') && m.getAttribute('aria-busy') !== 'true' &&
			![...m.querySelectorAll('p')].some((p) => /^Loading\b/.test(p.textContent.trim()));
	}, null, { timeout: 8000 }).catch(() => {});
	await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
}

// ---- axe-core ----

let axeSource;
// axeCheck(PAGE): axe-core run on the whole page; the violations with
// impact "serious" or "critical", as lines (empty: none).
export async function axeCheck(page) {
	axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	const has = await page.evaluate(() => typeof window.axe !== 'undefined');
	if (!has) await page.evaluate(axeSource);
	const res = await page.evaluate(async () => {
		// No preload: axe would fetch the style sheets again and parse them
		// in a <style> of its own, which the console's CSP rightly refuses.
		const r = await window.axe.run(document, { resultTypes: ['violations'], preload: false });
		return r.violations.map((v) => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
			count: v.nodes.length,
		}));
	});
	return res.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.impact} ${v.id} (${v.help}) x${v.count}: ${v.nodes.join(' | ')}`);
}

// ---- screenshots ----

// shot(PAGE, DIR, NAME): the whole page to DIR/NAME.png.
export async function shot(page, dir, name) {
	mkdirSync(dir, { recursive: true });
	await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

// pageCheck(TAP, W, DIR, NAME): one result line for the page shown now:
// screenshot taken, no serious/critical axe violation, no console error,
// uncaught exception, CSP violation or foreign request since the last.
export async function pageCheck(tap, w, dir, name) {
	return tap.check(`${name}: screenshot, axe (no serious/critical), no console errors or CSP violations`,
		async () => {
			const t0 = Date.now();
			await shot(w.page, dir, name);
			const t1 = Date.now();
			const v = await axeCheck(w.page);
			if (process.env.CONSOLE_TIMING) console.log(`# ${name}: screenshot ${t1 - t0} ms, axe ${Date.now() - t1} ms`);
			const p = w.take();
			const all = [...v.map((x) => `axe: ${x}`), ...p];
			if (all.length) {
				for (const l of all) console.log(`#   ${name}: ${l}`);
				return all.slice(0, 3).join('; ');
			}
		});
}
