import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function sessionsPage(ctx, el) { el.append(heading(ctx, 'sessionsPage'), h('p', null, 'Coming soon.')); }
export async function sessionPage(ctx, el) { el.append(heading(ctx, 'sessionPage'), h('p', null, 'Coming soon.')); }
