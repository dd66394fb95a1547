// The web console with big lists, in Debian's Chromium (bench/console.sh
// seeds the service and runs this): a unit with 10,000 restore points and
// a mail search with 100,000 results. Measures the time to the first
// render of each page, the time of each "Older" page, and the JS heap
// (after a forced GC, CDP Runtime.getHeapUsage) and DOM node counts before
// and after paging through PAGES pages, to show memory stays bounded.
// Prints one JSON object on stdout.
//
// Env: BASE, OPTOK (a restore operator's token), UNIT (the unit's id),
// MAIL_FROM (a From filter matching every message), PAGES (default 20),
// RUNS (first-render repetitions, default 5).
import { launch, newWatched, signIn, go } from '../tests/browser/lib.mjs';

const E = process.env;
const PAGES = Number(E.PAGES || 20);
const RUNS = Number(E.RUNS || 5);
const out = {};

const browser = await launch();
try {
	const w = await newWatched(browser, E.BASE);
	w.page.setDefaultTimeout(120000);
	const cdp = await w.page.context().newCDPSession(w.page);
	await signIn(w, E.BASE, E.OPTOK);
	await go(w, E.BASE, '#/overview');

	out.unit = await measure(w, cdp, {
		hash: `#/units/${E.UNIT}`,
		// the page is there: its chart drawn and its table of points filled
		ready: () => !!document.querySelector('main svg[role="img"]') &&
			document.querySelectorAll('main table tbody tr').length > 0 &&
			!document.querySelector('main [aria-busy="true"]'),
		older: 'Older',
	});
	out.mail = await measure(w, cdp, {
		hash: '#/mail',
		search: E.MAIL_FROM,
		ready: () => document.querySelectorAll('main table tbody tr').length > 0 &&
			!document.querySelector('main [aria-busy="true"]'),
		older: 'Older results',
	});
	out.problems = w.take();
} finally {
	await browser.close();
}
console.log(JSON.stringify(out, null, 1));

// measure(W, CDP, {hash, search?, ready, older}): first render RUNS times
// (median and all), then PAGES "Older" pages, timing each, with heap and
// DOM before and after.
async function measure(w, cdp, o) {
	const page = w.page;
	const first = [];
	for (let i = 0; i < RUNS; i++) {
		await go(w, E.BASE, '#/overview');
		const t0 = performance.now();
		await page.evaluate((h) => { location.hash = h; }, o.hash);
		if (o.search) {
			await page.getByLabel('From', { exact: true }).fill(o.search);
			await page.getByRole('button', { name: 'Search', exact: true }).click();
		}
		await page.waitForFunction(o.ready, null, { polling: 'raf' });
		first.push(performance.now() - t0);
	}
	const rows = await page.evaluate(() => document.querySelectorAll('main table tbody tr').length);
	const before = await memory(page, cdp);
	const older = page.getByRole('button', { name: o.older, exact: true });
	const pages = [];
	for (let k = 2; k <= PAGES + 1; k++) {
		if (await older.isDisabled()) break; // fewer pages than asked (a small seed)
		const t0 = performance.now();
		await older.click();
		await page.waitForFunction((n) => {
			const g = [...document.querySelectorAll('main [role="group"]')].find((e) => / pages$/.test(e.getAttribute('aria-label') || ''));
			return g && g.innerText.includes(`Page ${n} `) && !document.querySelector('main [aria-busy="true"]');
		}, k, { polling: 'raf' });
		pages.push(performance.now() - t0);
	}
	const after = await memory(page, cdp);
	const lastRows = await page.evaluate(() => document.querySelectorAll('main table tbody tr').length);
	return { firstRenderMs: median(first), firstRenderAllMs: first.map(r1), rowsShown: rows, rowsShownAfter: lastRows,
		olderMs: { median: median(pages), p95: pct(pages, 95), max: Math.max(...pages) }, pages: pages.length,
		before, after };
}

// memory(PAGE, CDP): JS heap after a forced GC, and DOM counts.
async function memory(page, cdp) {
	await cdp.send('HeapProfiler.collectGarbage');
	const heap = await cdp.send('Runtime.getHeapUsage');
	const dom = await cdp.send('Memory.getDOMCounters');
	const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
	return { heapUsedMB: r1(heap.usedSize / 1048576), heapTotalMB: r1(heap.totalSize / 1048576),
		domElements: nodes, domNodes: dom.nodes, jsEventListeners: dom.jsEventListeners };
}

function median(v) { return pct(v, 50); }
function pct(v, p) {
	const s = [...v].sort((a, b) => a - b);
	return r1(s[Math.min(s.length - 1, Math.round(p / 100 * (s.length - 1)))]);
}
function r1(x) { return Math.round(x * 10) / 10; }
