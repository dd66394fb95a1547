import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function mailPage(ctx, el) { el.append(heading(ctx, 'mailPage'), h('p', null, 'Coming soon.')); }
export async function messagePage(ctx, el) { el.append(heading(ctx, 'messagePage'), h('p', null, 'Coming soon.')); }
