import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function restorePage(ctx, el) { el.append(heading(ctx, 'restorePage'), h('p', null, 'Coming soon.')); }
