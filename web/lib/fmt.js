// Numbers, sizes and times for people: ages with the exact UTC time beside.
import {h} from './dom.js';

export function num(n) {
	return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function bytes(n) {
	if (n === null || n === undefined)
		return '–';
	let v = Number(n), i = 0;
	while (v >= 1024 && i < UNITS.length - 1) {
		v /= 1024;
		i++;
	}
	return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + UNITS[i];
}

// 75 -> "1 min 15 s"
export function duration(sec) {
	if (sec === null || sec === undefined)
		return '–';
	sec = Math.max(0, Math.round(sec));
	if (sec < 60)
		return `${sec} s`;
	if (sec < 3600)
		return `${Math.floor(sec / 60)} min ${sec % 60} s`;
	if (sec < 86400)
		return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
	return `${Math.floor(sec / 86400)} d ${Math.floor((sec % 86400) / 3600)} h`;
}

function span(sec) {
	if (sec < 60)
		return `${sec} s`;
	if (sec < 3600)
		return `${Math.floor(sec / 60)} min`;
	if (sec < 86400)
		return `${Math.floor(sec / 3600)} h`;
	if (sec < 86400 * 60)
		return `${Math.floor(sec / 86400)} d`;
	if (sec < 86400 * 730)
		return `${Math.floor(sec / (86400 * 30))} months`;
	return `${Math.floor(sec / (86400 * 365))} years`;
}

// 1700000000 -> "3 h ago" / "in 5 min"
export function age(unix) {
	if (!unix)
		return 'never';
	const d = Math.round(Date.now() / 1000 - unix);
	if (Math.abs(d) < 5)
		return 'just now';
	return d > 0 ? `${span(d)} ago` : `in ${span(-d)}`;
}

export function utc(unix) {
	return new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
}

// <time datetime title>age</time>; "never" for a null time.
export function when(unix, never = 'never') {
	if (!unix)
		return h('span', {class: 'muted'}, never);
	const iso = utc(unix);
	return h('time', {datetime: iso, title: iso.replace('T', ' ').replace('Z', ' UTC')}, age(unix));
}

// The exact time, written out.
export function exact(unix) {
	if (!unix)
		return '–';
	const iso = utc(unix);
	return h('time', {datetime: iso}, iso.replace('T', ' ').replace('Z', ' UTC'));
}

// A state word with a class for its colour (and the word itself, so colour
// is never the only signal).
export function state(s, words) {
	return h('span', {class: ['state', 'state-' + String(s || 'none').replace(/[^a-zA-Z]/g, '')]},
		(words && words[s]) || s || '–');
}

// A unit's state in words: "unprotected" means no active policy takes
// its backups, though it may well have restore points.
export const UNIT_STATES = {unprotected: 'no active policy'};

export const ROLE_NAMES = {
	globalAdmin: 'Global admin',
	tenantAdmin: 'Tenant admin',
	restoreOperator: 'Restore operator',
	auditor: 'Auditor',
	privacyOfficer: 'Privacy officer',
};

export const MODE_NAMES = {inPlace: 'In place', newLocation: 'New location', granular: 'Granular'};

// The Unix seconds of a time field: its …Unix twin, else the RFC 3339 text.
export function unixOf(obj, key) {
	if (!obj)
		return null;
	if (typeof obj[key + 'Unix'] === 'number')
		return obj[key + 'Unix'];
	const t = obj[key] ? Date.parse(obj[key]) : NaN;
	return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

// A restore's target for people: a folder path, a mail folder, a URL.
export function targetText(t) {
	if (!t)
		return '';
	if (typeof t === 'string') {
		try {
			t = JSON.parse(t);
		} catch (e) {
			return t;
		}
		if (typeof t !== 'object' || t === null)
			return String(t);
	}
	if (t.intoFolder)
		return `mail folder ${t.intoFolder}` + (t.user ? ` of ${t.user}` : '');
	if (t.path)
		return t.path;
	if (t.url)
		return t.url;
	return JSON.stringify(t);
}
