// DOM building without innerHTML: every piece of data goes in as a text
// node, so a file name or a mail subject can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function put(el, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'class')
			el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
		else if (k === 'checked' || k === 'value' || k === 'selected' || k === 'indeterminate')
			el[k] = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.appendChild(c);
		else
			el.appendChild(document.createTextNode(String(c)));
	}
}

// h('a', {href: '#/x', class: 'btn'}, 'text', child...): an HTML element.
// Attributes named on* with a function value become event listeners.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	put(el, attrs);
	append(el, children);
	return el;
}

// s('rect', {...}): the same for SVG elements.
export function s(tag, attrs, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	put(el, attrs);
	append(el, children);
	return el;
}

// Appends children to el, skipping null, undefined and false.
export function add(el, ...children) {
	append(el, children);
	return el;
}

// Replaces the children of el.
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

let uid = 0;
// A fresh id for label/aria wiring.
export function nid(prefix = 'i') {
	uid += 1;
	return `${prefix}-${uid}`;
}

// A labelled form control: returns {row, input}.
export function field(label, input, hint) {
	const id = input.id || nid('f');
	input.id = id;
	let hintEl = null;
	if (hint) {
		hintEl = h('span', {class: 'hint', id: id + '-hint'}, hint);
		input.setAttribute('aria-describedby', hintEl.id);
	}
	const row = h('div', {class: 'field'}, h('label', {for: id}, label), input, hintEl);
	return {row, input};
}

// A table with caption, head and body; rows are arrays of cells (a cell is
// a node, a string or {th: true, ...} not needed: first column is a row header
// when rowHeader is set). A wide table scrolls inside a focusable region.
export function table(caption, heads, rows, opts = {}) {
	const thead = h('thead', null, h('tr', null, heads.map((t) => h('th', {scope: 'col'}, t))));
	const tbody = h('tbody');
	for (const r of rows)
		tbody.appendChild(tableRow(r, opts));
	const t = h('table', {class: opts.class}, h('caption', null, caption), thead, tbody);
	const wrap = h('div', {class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0'}, t);
	return {wrap, table: t, tbody};
}

export function tableRow(cells, opts = {}) {
	const tr = h('tr', opts.rowClass ? {class: opts.rowClass(cells)} : null);
	cells.forEach((c, i) => {
		if (i === 0 && opts.rowHeader)
			tr.appendChild(h('th', {scope: 'row'}, c));
		else
			tr.appendChild(h('td', null, c));
	});
	return tr;
}

// A button that runs an async action, disabled while it runs.
export function button(text, action, attrs = {}) {
	const b = h('button', Object.assign({type: 'button'}, attrs), text);
	b.addEventListener('click', async (ev) => {
		if (b.disabled)
			return;
		b.disabled = true;
		try {
			await action(ev);
		} finally {
			b.disabled = false;
		}
	});
	return b;
}
