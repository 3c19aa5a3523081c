/**
 * `kpx diff`'s printed forms. Every piece of text that came from the kernel or the input
 * passes escapeText: no control character reaches the terminal raw.
 */
import { escapeText } from './quote.js';
import type { Change, DiffResult } from '../sync/diff/diff.js';

const SIGN: Readonly<Record<Change['op'], string>> = { add: '+', remove: '-', change: '~' };

function line(c: Change): string {
  const item = c.item === '' ? '' : `: ${escapeText(c.item, 4000)}`;
  const change = c.op === 'change' ? `: ${escapeText(c.from ?? '(none)', 4000)} => ${escapeText(c.to ?? '(none)', 4000)}` : '';
  // A whole object whose place already names its kind (`ip kube-proxy map eps-1`, `ipset X`) is printed once.
  const kind = c.item === '' && c.where.split(' ').includes(c.kind.split(' ')[0] ?? '') ? '' : `${c.kind} `;
  return `  ${SIGN[c.op]} ${kind}${escapeText(c.where)}${item}${change}\n`;
}

/** One block per group: `shop/frontend:` then one `  + element ip kube-proxy map service-ips: KEY : VALUE` line per change. */
export function formatDiffText(d: DiffResult): string {
  if (d.total === 0) return '';
  const out: string[] = [];
  for (const g of d.groups) {
    out.push(`${escapeText(g.name)}:\n`);
    for (const c of g.changes) out.push(line(c));
  }
  const services = d.groups.filter((g) => g.name !== '(node)').length;
  out.push(`${d.total} change${d.total === 1 ? '' : 's'} (${services} Service${services === 1 ? '' : 's'}${d.groups.some((g) => g.name === '(node)') ? ', node-wide items' : ''})\n`);
  return out.join('');
}

/** `{"changed": bool, "total": N, "groups": [{"group", "changes": [{op, kind, where, item, from?, to?}]}]}` (JSON escapes control characters itself). */
export function formatDiffJson(d: DiffResult): string {
  return `${JSON.stringify({ changed: d.total > 0, total: d.total, groups: d.groups.map((g) => ({ group: g.name, changes: g.changes })) })}\n`;
}
