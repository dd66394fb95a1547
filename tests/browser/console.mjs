// The web console in a real browser (issue 13 part 3), run by
// tests/e2e/console.sh against a seeded `coffer serve`: the ransomware
// story, the mail story, what an auditor sees and may do, and every page
// screenshotted and checked with axe-core, watched for console errors, CSP
// violations and requests leaving the console's origin. Accessible names
// come from the console's contract (docs/console.md).
//
// Env (set by console.sh): BASE, TID, GTOK (global admin), TOK (tenant
// admin), OPTOK (restore operator), AUTOK (auditor); RANSOM_UNIT,
// RANSOM_NAME, RANSOM_GOOD (the last point before the attack), RANSOM_BAD
// (the attacked point), RANSOM_FILE (a file name the restore brings back);
// MAIL_UNIT, MAIL_FROM, MAIL_SUBJECT (the hostile message), REMOTE_HOST
// (the host its remote image names); SHOTS (screenshot folder), STATE (a
// JSON file this writes for console.sh: what the stories did).
import { writeFileSync } from 'node:fs';
import { Tap, launch, newWatched, signIn, go, settle, pageCheck, shot, axeCheck, firstLine } from './lib.mjs';

const E = process.env;
const BASE = E.BASE;
const SHOTS = E.SHOTS;
const T = `#/`;
const tap = new Tap('console');
const state = {};
const t0 = Date.now();

const browser = await launch();
try {
	await run();
} catch (e) {
	tap.notOk('the browser run ends normally', firstLine(e));
} finally {
	await browser.close();
	writeFileSync(E.STATE, JSON.stringify(state));
	tap.note(`console.mjs: ${tap.passed} ok, ${tap.failed} not ok, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
process.exit(tap.failed ? 1 : 0);

async function run() {
	const op = await newWatched(browser, BASE);
	await tap.check('a restore operator signs in with a token; the header names the role', async () => {
		await signIn(op, BASE, E.OPTOK);
		const hdr = await op.page.locator('header').innerText();
		if (!/restore\s*operator|restoreOperator/i.test(hdr)) return `header says: ${hdr.slice(0, 200)}`;
		const stored = await op.page.evaluate(() => ({ local: localStorage.length, cookie: document.cookie }));
		if (stored.local || stored.cookie) return `token kept outside session storage: ${JSON.stringify(stored)}`;
	});
	await ransomware(op);
	await mail(op);
	// One signed-in tab for the rest of the operator's checks: a sign-in
	// costs more than a reload, a resize or a colour scheme.
	await keyboard(op);
	await phoneAndDark(op);
	await op.page.context().close();

	await auditor();
	await adminPages();
}

// ---- the ransomware story ----
async function ransomware(w) {
	const page = w.page;
	await go(w, BASE, `${T}overview`);
	const anomalies = page.locator('section, [role="region"]')
		.filter({ has: page.getByRole('heading', { name: 'Anomalies' }) });
	const unitLink = anomalies.getByRole('link', { name: E.RANSOM_NAME, exact: true });
	await tap.check('overview: the attacked unit is flagged under Anomalies, with a link to it', async () => {
		await unitLink.first().waitFor();
	});
	await tap.check('overview: counters Protected, Failing, Never backed up, Storage used', async () => {
		const miss = [];
		for (const l of ['Protected', 'Failing', 'Never backed up', 'Storage used'])
			if (!(await page.getByText(l, { exact: true }).count())) miss.push(l);
		if (miss.length) return `missing: ${miss.join(', ')}`;
		if (!(await page.getByRole('columnheader', { name: 'Last restore point' }).count()))
			return 'no column "Last restore point"';
	});
	await pageCheck(tap, w, SHOTS, 'overview');

	await go(w, BASE, `${T}units`);
	await pageCheck(tap, w, SHOTS, 'units');

	// Back to the overview and through the anomaly's link, as at 3 a.m.
	await go(w, BASE, `${T}overview`);
	const opened = await tap.check('overview -> the anomaly\'s link opens the unit page', async () => {
		await unitLink.first().click();
		await page.waitForURL(new RegExp(`#/units/${E.RANSOM_UNIT}$`));
		await settle(page);
		const h1 = (await page.locator('main h1').innerText()).trim();
		if (h1 !== E.RANSOM_NAME) return `h1 is "${h1}"`;
	});
	if (!opened) await go(w, BASE, `${T}units/${E.RANSOM_UNIT}`);
	await tap.check('unit: a timeline chart of the restore points', async () => {
		await page.getByRole('img', { name: /^Restore points of/ }).first().waitFor();
	});
	await tap.check(`unit: point ${E.RANSOM_BAD} marked "Anomaly", a "Recommended" point with its reason`, async () => {
		const main = page.locator('main');
		await main.getByText('Anomaly').first().waitFor();
		await main.getByText(/Recommended/).first().waitFor();
		const rec = page.getByRole('row').filter({ hasText: 'Recommended' }).first();
		const txt = await rec.innerText();
		if (!/compress|anomal|before/i.test(txt)) return `the recommended row gives no reason: ${txt.slice(0, 200)}`;
	});
	await pageCheck(tap, w, SHOTS, 'unit');

	await go(w, BASE, `${T}units/${E.RANSOM_UNIT}/points/${E.RANSOM_GOOD}`);
	await tap.check('browse: a point\'s items, and a folder link opens the folder', async () => {
		const link = page.locator('main table').getByRole('link', { name: 'docs' }).first();
		await link.click();
		await page.waitForURL(/path=/);
		await settle(page);
		await page.locator('main').getByText(E.RANSOM_FILE).first().waitFor();
	});
	await pageCheck(tap, w, SHOTS, 'browse');

	await go(w, BASE, `${T}units/${E.RANSOM_UNIT}/diff/${E.RANSOM_GOOD}/${E.RANSOM_BAD}`);
	await tap.check('diff: the attack shows as files added and removed', async () => {
		const main = page.locator('main');
		await main.getByText(/\.locked/).first().waitFor().catch(async () => {
			throw new Error(`no .locked file listed; the page says: ${await alertText(page)}`);
		});
		const t = await main.innerText();
		if (!/added/i.test(t) || !/removed/i.test(t)) return `no added/removed in: ${t.slice(0, 200)}`;
	});
	await pageCheck(tap, w, SHOTS, 'diff');

	// The wizard, from the unit page's "Restore…".
	await go(w, BASE, `${T}units/${E.RANSOM_UNIT}`);
	const wizard = await tap.check('unit: "Restore…" opens the restore wizard', async () => {
		await page.locator('main').getByRole('link', { name: /^Restore(…|\.\.\.)$/ })
			.or(page.locator('main').getByRole('button', { name: /^Restore(…|\.\.\.)$/ })).first().click();
		await page.waitForURL(new RegExp(`#/restore/${E.RANSOM_UNIT}`));
		await settle(page);
	});
	if (!wizard) await go(w, BASE, `${T}restore/${E.RANSOM_UNIT}`);
	const points = page.getByRole('radiogroup', { name: 'Restore point' })
		.or(page.getByRole('group', { name: 'Restore point' }));
	await tap.check(`restore wizard: the recommended point ${E.RANSOM_GOOD} comes first and is preselected`, async () => {
		const first = points.getByRole('radio').first();
		const name = await accName(first);
		if (!/Recommended/.test(name)) return `the first point is "${name}"`;
		if (!new RegExp(`^Point ${E.RANSOM_GOOD}\\b`).test(name)) return `the first point is "${name}", not ${E.RANSOM_GOOD}`;
		if (!(await first.isChecked())) return 'the recommended point is not preselected';
	});
	await pageCheck(tap, w, SHOTS, 'restore-1-point');
	const inPlace = page.getByRole('radio', { name: 'In place' });
	await tap.check('restore wizard: mode "In place"', async () => {
		await nextUntil(page, inPlace);
		await inPlace.check();
		await shot(page, SHOTS, 'restore-2-mode');
	});
	await tap.check('restore wizard: "Granular" shows a file picker of the point\'s files', async () => {
		await page.getByRole('radio', { name: 'Granular' }).check();
		const picker = page.getByRole('group', { name: 'Files to restore' });
		await picker.getByRole('checkbox', { name: /^Select / }).first().waitFor();
		await pageCheck(tap, w, SHOTS, 'restore-2-granular');
	});
	await tap.check('restore wizard: back to "In place", Next shows the plan', async () => {
		await inPlace.check();
		await nextUntil(page, page.getByRole('button', { name: 'Start restore' }));
	});
	await tap.check('restore wizard: the review shows the dry-run plan (counts and paths)', async () => {
		const t = await page.locator('main').innerText();
		if (!/\bwrite/i.test(t) || !/\bremove/i.test(t)) return `no write/remove counts in: ${t.slice(0, 300)}`;
		if (!t.includes(E.RANSOM_FILE) && !t.includes('.locked')) return `no sample path in: ${t.slice(0, 300)}`;
	});
	await pageCheck(tap, w, SHOTS, 'restore-3-review');
	const started = await tap.check('restore wizard: "Start restore" opens the session page', async () => {
		await page.getByRole('button', { name: 'Start restore' }).click();
		await page.waitForURL(/#\/sessions\/[^/]+$/);
		await settle(page);
		const h1 = await page.locator('main h1').innerText();
		if (!/^Restore session/.test(h1)) return `h1 is "${h1}"`;
		state.ransomSession = page.url().replace(/.*#\/sessions\//, '');
	});
	if (started) {
		await tap.check('session: a progress bar, then "succeeded" without reloading', async () => {
			if (!(await page.locator('main progress').count())) return 'no <progress>';
			await page.locator('main').getByText('succeeded', { exact: true }).first()
				.waitFor({ timeout: 30000 });
			state.ransomRestored = true;
		});
		await pageCheck(tap, w, SHOTS, 'session');
		await go(w, BASE, `${T}sessions`);
		await pageCheck(tap, w, SHOTS, 'sessions');
	}
}

// ---- the mail story ----
async function mail(w) {
	const page = w.page;
	await go(w, BASE, `${T}mail`);
	await pageCheck(tap, w, SHOTS, 'mail');
	const subject = page.locator('main').getByRole('link', { name: E.MAIL_SUBJECT, exact: true });
	await tap.check(`mail: a search by sender (${E.MAIL_FROM}) finds the message`, async () => {
		await page.getByLabel('From', { exact: true }).fill(E.MAIL_FROM);
		await page.getByRole('button', { name: 'Search' }).click();
		await subject.first().waitFor();
		await page.getByRole('checkbox', { name: `Select ${E.MAIL_SUBJECT}` }).first().waitFor();
	});
	await pageCheck(tap, w, SHOTS, 'mail-results');

	const before = w.requests.length;
	await tap.check('mail: the subject opens the message; its h1 is the subject, as text', async () => {
		await subject.first().click();
		await page.waitForURL(/#\/mail\/message\?/);
		await settle(page);
		const h1 = (await page.locator('main h1').innerText()).trim();
		if (h1 !== E.MAIL_SUBJECT) return `h1 is "${h1}"`;
		if (!(await page.locator('main dl').count())) return 'no <dl> of headers';
	});
	await tap.check('message: <script> and a remote <img> shown literally in a <pre>, none run or loaded', async () => {
		const pre = await page.locator('main pre').first().innerText();
		if (!pre.includes('<script>') || !pre.includes(`<img src="http://${E.REMOTE_HOST}/`))
			return `the text is not shown literally: ${pre.slice(0, 300)}`;
		const els = await page.evaluate(() => ({
			scripts: document.querySelectorAll('main script').length,
			imgs: document.querySelectorAll('main img, main iframe, main object, main embed').length,
			pwned: window.__pwned === true,
		}));
		if (els.scripts || els.imgs || els.pwned) return `the message became markup: ${JSON.stringify(els)}`;
		await page.waitForTimeout(300); // a late fetch or image would show up by now
		const foreign = w.requests.slice(before).filter((u) => !u.startsWith(new URL(BASE).origin + '/'));
		if (foreign.length) return `requests outside the console: ${foreign.join(' ')}`;
		const loads = w.requests.slice(before).filter((u) => u.includes(E.REMOTE_HOST) || /\/x$/.test(u));
		if (loads.length) return `requests for the message's content: ${loads.join(' ')}`;
	});
	await pageCheck(tap, w, SHOTS, 'message');
	await tap.check('message: "Restore to a new folder" starts a restore that succeeds', async () => {
		await page.getByRole('button', { name: 'Restore to a new folder' }).click();
		// Either the session page, or a status on the message page linking to it.
		await page.waitForURL(/#\/sessions\/[^/]+$/, { timeout: 5000 }).catch(async () => {
			const link = page.locator('main').getByRole('link', { name: /session/i }).first();
			if (!(await link.count())) throw new Error(`no session page; the page says: ${await alertText(page)}`);
			await link.click();
			await page.waitForURL(/#\/sessions\/[^/]+$/);
		});
		await settle(page);
		state.mailSession = page.url().replace(/.*#\/sessions\//, '');
		await page.locator('main').getByText('succeeded', { exact: true }).first().waitFor({ timeout: 30000 });
		state.mailRestored = true;
	});
}

// ---- an auditor: no restore or export controls, and the API says no ----
async function auditor() {
	const w = await newWatched(browser, BASE);
	const page = w.page;
	await tap.check('auditor: signs in', () => signIn(w, BASE, E.AUTOK));
	await go(w, BASE, `${T}units/${E.RANSOM_UNIT}`);
	await tap.check('auditor: the unit page has no restore control', async () => {
		const n = await page.locator('main').getByRole('link', { name: /^Restore/ })
			.or(page.locator('main').getByRole('button', { name: /^Restore/ })).count();
		if (n) return `${n} restore controls shown`;
		const h1 = (await page.locator('main h1').innerText()).trim();
		if (h1 !== E.RANSOM_NAME) return `h1 is "${h1}" (the unit page did not show)`;
	});
	await pageCheck(tap, w, SHOTS, 'unit-auditor');
	await go(w, BASE, `${T}mail`);
	await tap.check('auditor: the mail page has no restore or export controls', async () => {
		const n = await page.getByRole('button', { name: /Restore|Export/ }).count();
		if (n) return `${n} restore/export buttons shown`;
	});
	await pageCheck(tap, w, SHOTS, 'mail-auditor');
	await tap.check('auditor: a restore session forced through fetch() is refused with 403', async () => {
		const status = await page.evaluate(async ({ tid, tok, unit }) => {
			const r = await fetch(`/v1/tenants/${tid}/restoreSessions`, {
				method: 'POST',
				headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
				body: JSON.stringify({ items: [{ unit, restorePoint: 1, mode: 'inPlace' }] }),
			});
			return r.status;
		}, { tid: E.TID, tok: E.AUTOK, unit: E.RANSOM_UNIT });
		if (status !== 403) return `HTTP ${status}`;
	});
	w.take(); // the 403 is logged by Chromium as a failed resource: asked for
	await page.context().close();
}

// ---- the admins' pages ----
async function adminPages() {
	const w = await newWatched(browser, BASE);
	const page = w.page;
	await tap.check('tenant admin: signs in', () => signIn(w, BASE, E.TOK));
	await go(w, BASE, `${T}policies`);
	await tap.check('policies: the seeded policies listed with their state', async () => {
		const t = await page.locator('main table').first().innerText();
		if (!t.includes('nightly') || !/active/i.test(t)) return `table: ${t.slice(0, 200)}`;
	});
	await pageCheck(tap, w, SHOTS, 'policies');
	await tap.check('policies: "New policy" opens a form with Name, Kind, Frequency and Save', async () => {
		await page.locator('main').getByRole('link', { name: 'New policy' })
			.or(page.locator('main').getByRole('button', { name: 'New policy' })).first().click();
		await page.getByLabel('Name', { exact: true }).waitFor();
		await page.getByLabel('Kind', { exact: true }).waitFor();
		await page.getByLabel('Frequency (minutes)').waitFor();
		await page.getByRole('button', { name: 'Save' }).waitFor();
		await settle(page);
	});
	await pageCheck(tap, w, SHOTS, 'policy-form');
	await go(w, BASE, `${T}audit`);
	await tap.check('audit log: the tenant\'s entries with filters', async () => {
		await page.getByLabel('Action').waitFor();
		const t = await page.locator('main').innerText();
		if (!t.includes('restoreSession.create')) return `no restoreSession.create entry: ${t.slice(0, 200)}`;
	});
	await tap.check('audit log: a tenant admin\'s "Verify chain" says the tenant\'s chain is intact', async () => {
		await page.getByRole('button', { name: 'Verify chain' }).click();
		await page.locator('main [role="status"]').getByText(/^The chain is/).first().waitFor();
		const t = (await page.locator('main [role="status"]').getByText(/^The chain is/).first().innerText()).trim();
		if (!/^The chain is intact/.test(t)) return `status says: ${t.slice(0, 200)}`;
	});
	await pageCheck(tap, w, SHOTS, 'audit');
	await go(w, BASE, `${T}tokens`);
	await tap.check('tokens: the tenant\'s tokens listed, no secrets', async () => {
		const t = await page.locator('main').innerText();
		if (!t.includes('auditor') || !t.includes('restoreOperator') && !/restore operator/i.test(t))
			return `table: ${t.slice(0, 200)}`;
		for (const s of [E.TOK, E.OPTOK, E.AUTOK]) if (t.includes(s)) return 'a secret is shown';
	});
	await pageCheck(tap, w, SHOTS, 'tokens');
	await page.context().close();

	const g = await newWatched(browser, BASE);
	await tap.check('global admin: signs in', () => signIn(g, BASE, E.GTOK));
	await go(g, BASE, `${T}tenants`);
	await tap.check('tenants: the seeded tenant listed', async () => {
		await g.page.locator('main table').getByText(E.TENANT_NAME).first().waitFor();
	});
	await pageCheck(tap, g, SHOTS, 'tenants');
	await go(g, BASE, `${T}audit`);
	await tap.check('audit log: "Verify chain" says the chain is intact', async () => {
		await g.page.getByRole('button', { name: 'Verify chain' }).click();
		const st = g.page.locator('main [role="status"]').first();
		await g.page.waitForFunction((el) => el && el.innerText.trim().length > 0, await st.elementHandle());
		const t = (await st.innerText()).trim();
		if (/fail|error|broken|invalid|not ok|tamper/i.test(t) || !/ok|intact|verified|valid/i.test(t))
			return `status says: ${t.slice(0, 200)}`;
	});
	await pageCheck(tap, g, SHOTS, 'audit-verify');
	await g.page.context().close();
}

// ---- keyboard: skip link first, then the navigation; Enter follows a link ----
async function keyboard(w) {
	const page = w.page;
	await page.goto(`${BASE}/${T}overview`).catch(() => {});
	await page.reload(); // a fresh document: the focus starts at the top
	await settle(page).catch(() => {});
	await tap.check('keyboard: the first Tab reaches "Skip to content"', async () => {
		await page.evaluate(() => { document.activeElement?.blur(); window.getSelection()?.removeAllRanges(); });
		await page.locator('body').focus();
		await page.keyboard.press('Tab');
		const f = await focused(page);
		if (!/Skip to content/i.test(f.text)) return `focus on ${JSON.stringify(f)}`;
	});
	await tap.check('keyboard: Tab goes on to the main navigation, Enter on "Units" opens it', async () => {
		let f;
		for (let i = 0; i < 8; i++) {
			await page.keyboard.press('Tab');
			f = await focused(page);
			if (f.inNav) break;
		}
		if (!f?.inNav) return `the navigation is not reached in 8 Tabs (last ${JSON.stringify(f)})`;
		for (let i = 0; i < 10 && !/#\/units$/.test(f.href || ''); i++) {
			await page.keyboard.press('Tab');
			f = await focused(page);
		}
		if (!/#\/units$/.test(f.href || '')) return `no "Units" link reached (last ${JSON.stringify(f)})`;
		await page.keyboard.press('Enter');
		await page.waitForURL(/#\/units$/);
		await settle(page);
	});
	w.take();
}

// ---- a phone-sized screen, and the dark theme ----
async function phoneAndDark(ph) {
	await ph.page.setViewportSize({ width: 375, height: 812 });
	for (const [name, hash] of [['overview', 'overview'], ['unit', `units/${E.RANSOM_UNIT}`]]) {
		await go(ph, BASE, T + hash).catch(() => {});
		await pageCheck(tap, ph, SHOTS, `phone-${name}`);
		await tap.check(`phone: the ${name} page fits 375 px (no sideways scrolling of the page)`, async () => {
			const sw = await ph.page.evaluate(() => document.documentElement.scrollWidth);
			if (sw > 376) return `the page is ${sw} px wide`;
		});
	}
	await ph.page.setViewportSize({ width: 1280, height: 900 });

	const dk = ph;
	await dk.page.emulateMedia({ colorScheme: 'dark' });
	for (const [name, hash] of [['overview', 'overview'], ['unit', `units/${E.RANSOM_UNIT}`]]) {
		await go(dk, BASE, T + hash).catch(() => {});
		await pageCheck(tap, dk, SHOTS, `dark-${name}`);
	}
	await tap.check('dark: the dark theme is applied (a dark page background)', async () => {
		const bg = await dk.page.evaluate(() => {
			const c = (el) => getComputedStyle(el).backgroundColor;
			const b = c(document.body);
			return b === 'rgba(0, 0, 0, 0)' ? c(document.documentElement) : b;
		});
		const m = bg.match(/\d+(\.\d+)?/g)?.map(Number) ?? [255, 255, 255];
		const lum = (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;
		if (lum > 0.4) return `background ${bg}`;
	});
	await dk.page.emulateMedia({ colorScheme: 'light' });
}

// ---- small helpers ----

// nextUntil(PAGE, LOCATOR): presses "Next" until LOCATOR shows (at most 3 times).
async function nextUntil(page, loc) {
	for (let i = 0; i < 4; i++) {
		if (await loc.first().isVisible()) return;
		const next = page.getByRole('button', { name: 'Next' });
		if (i === 3 || !(await next.count())) break;
		await next.first().click();
		await page.waitForTimeout(50);
		await loc.first().waitFor({ timeout: 3000 }).catch(() => {});
	}
	await loc.first().waitFor({ timeout: 1000 });
}

// alertText(PAGE): what the console's alert region says (an API error).
async function alertText(page) {
	const t = await page.locator('[role="alert"]').allInnerTexts().catch(() => []);
	return t.join(' ').trim() || '(no alert)';
}

// accName(LOCATOR): the text of a radio's label.
async function accName(loc) {
	return loc.evaluate((el) => {
		const l = el.labels?.[0] || el.closest('label');
		return (el.getAttribute('aria-label') || l?.innerText || '').trim();
	});
}

// focused(PAGE): what has the keyboard focus.
async function focused(page) {
	return page.evaluate(() => {
		const a = document.activeElement;
		return {
			tag: a?.tagName, text: (a?.innerText || a?.getAttribute('aria-label') || '').trim().slice(0, 60),
			href: a?.getAttribute('href') || '', inNav: !!a?.closest('nav[aria-label="Main"]'),
		};
	});
}
