import {h} from '../lib/dom.js';
import {heading} from '../lib/ui.js';
export async function policiesPage(ctx, el) { el.append(heading(ctx, 'policiesPage'), h('p', null, 'Coming soon.')); }
export async function policyPage(ctx, el) { el.append(heading(ctx, 'policyPage'), h('p', null, 'Coming soon.')); }
