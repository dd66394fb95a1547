import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function auditPage(ctx, el) { el.append(heading(ctx, 'auditPage'), h('p', null, 'Coming soon.')); }
