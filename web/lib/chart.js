// The restore point timeline: one bar per point (oldest left), its height
// the point's new bytes on a log scale, the incompressible part of them
// drawn darker at the bottom; anomalies get a triangle above the bar,
// recommended points a band behind it and a circle below. Hand-written SVG:
// nothing to bundle, and the colours come from app.css (light and dark).
import {s} from './dom.js';
import {bytes, utc} from './fmt.js';

const W = 800, H = 220, LEFT = 56, RIGHT = 8, TOP = 22, BOTTOM = 30;

// Log scale from 1 KiB to the largest value: a first full copy of many GiB
// and the daily KiB after it both stay visible.
function logScale(max) {
	const lo = 10, hi = Math.max(Math.log2(Math.max(max, 2048)), lo + 1);
	return (v) => (v > 0 ? Math.max(0.02, (Math.log2(Math.max(v, 1024)) - lo) / (hi - lo)) : 0);
}

// timeline({points (any order), label, anomalies: Map seq->reason,
// recommended: Map seq->reason, onPick(seq)}) -> <svg role="img">
export function timeline(opts) {
	const pts = [...opts.points].sort((a, b) => a.seq - b.seq);
	const anomalies = opts.anomalies || new Map();
	const recommended = opts.recommended || new Map();
	const max = pts.reduce((m, p) => Math.max(m, p.newBytes || 0), 0);
	const y = logScale(max);
	const plotH = H - TOP - BOTTOM, plotW = W - LEFT - RIGHT;
	const n = Math.max(pts.length, 1);
	const slot = plotW / n;
	const bw = Math.max(1, Math.min(24, slot * 0.7));
	const nAnom = pts.filter((p) => anomalies.has(p.seq)).length;
	const nRec = pts.filter((p) => recommended.has(p.seq)).length;
	const range = pts.length ? ` from ${utc(pts[0].timeUnix).slice(0, 16).replace('T', ' ')}`
		+ ` to ${utc(pts[pts.length - 1].timeUnix).slice(0, 16).replace('T', ' ')} UTC` : '';
	const label = `${opts.label}: ${pts.length} points${range}; new bytes per point, the incompressible share darker;`
		+ ` ${nAnom} ${nAnom === 1 ? 'anomaly' : 'anomalies'}, ${nRec} recommended`;
	const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'timeline'});

	// Axis: 0 and powers of 1024 up to the largest value.
	const axis = s('g', {class: 'axis', 'aria-hidden': 'true'});
	for (let v = 32 * 1024; v <= Math.max(max, 2048) * 1.01; v *= 32) {
		const yy = TOP + plotH * (1 - y(v));
		axis.append(s('line', {x1: LEFT, x2: W - RIGHT, y1: yy, y2: yy, class: 'grid'}),
			s('text', {x: LEFT - 6, y: yy + 4, 'text-anchor': 'end'}, bytes(v)));
	}
	axis.append(s('line', {x1: LEFT, x2: W - RIGHT, y1: TOP + plotH, y2: TOP + plotH, class: 'base'}),
		s('text', {x: LEFT - 6, y: TOP + plotH + 4, 'text-anchor': 'end'}, '0'));
	svg.append(axis);

	const bars = s('g', {class: 'bars'});
	pts.forEach((p, i) => {
		const cx = LEFT + slot * (i + 0.5);
		const x = cx - bw / 2;
		const nb = p.newBytes || 0, inc = Math.min(p.incompressibleBytes || 0, nb);
		const hTot = plotH * y(nb);
		const hInc = nb > 0 ? hTot * (inc / nb) : 0;
		const g = s('g', {class: 'point' + (anomalies.has(p.seq) ? ' anomaly' : '') +
			(recommended.has(p.seq) ? ' recommended' : '')});
		let tip = `Point ${p.seq}, ${utc(p.timeUnix).replace('T', ' ').replace('Z', ' UTC')}: ` +
			`${bytes(nb)} new, ${bytes(inc)} incompressible, ${p.changedEntries ?? 0} entries changed`;
		if (anomalies.has(p.seq))
			tip += `. Anomaly: ${anomalies.get(p.seq)}`;
		if (recommended.has(p.seq))
			tip += `. Recommended: ${recommended.get(p.seq)}`;
		g.append(s('title', null, tip));
		if (recommended.has(p.seq))
			g.append(s('rect', {class: 'band', x: cx - Math.min(slot * 0.45, bw / 2 + 6), y: TOP - 4,
				width: Math.min(slot * 0.9, bw + 12), height: plotH + 4, rx: 3}));
		// An invisible full-height target so thin bars are easy to point at.
		g.append(s('rect', {class: 'hit', x: cx - slot / 2, y: TOP, width: slot, height: plotH}));
		g.append(s('rect', {class: 'bar-new', x, y: TOP + plotH - hTot, width: bw, height: Math.max(hTot, nb ? 1 : 0)}));
		if (hInc > 0)
			g.append(s('rect', {class: 'bar-inc', x, y: TOP + plotH - hInc, width: bw, height: hInc}));
		if (anomalies.has(p.seq)) {
			const ty = TOP + plotH - hTot - 4;
			g.append(s('path', {class: 'mark-anomaly', d: `M${cx} ${ty} l-6 -11 h12 z`}));
		}
		if (recommended.has(p.seq))
			g.append(s('circle', {class: 'mark-rec', cx, cy: TOP + plotH + 9, r: 5}));
		if (opts.onPick)
			g.addEventListener('click', () => opts.onPick(p.seq));
		bars.append(g);
	});
	svg.append(bars);

	// A few point numbers along the bottom.
	const labels = s('g', {class: 'axis', 'aria-hidden': 'true'});
	const every = Math.max(1, Math.ceil(pts.length / 10));
	pts.forEach((p, i) => {
		if (i % every === 0 || i === pts.length - 1)
			labels.append(s('text', {x: LEFT + slot * (i + 0.5), y: H - 4, 'text-anchor': 'middle'}, String(p.seq)));
	});
	svg.append(labels);
	return svg;
}
