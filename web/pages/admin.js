import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function tenantsPage(ctx, el) { el.append(heading(ctx, 'tenantsPage'), h('p', null, 'Coming soon.')); }
export async function tokensPage(ctx, el) { el.append(heading(ctx, 'tokensPage'), h('p', null, 'Coming soon.')); }
