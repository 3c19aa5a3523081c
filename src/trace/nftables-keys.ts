/**
 * nftables set and map lookups for nftables.ts: the value of a key (address, protocol
 * and port fields, concatenated with `.`; `numgen random mod N` forks) and the element it
 * hits: equal, or for addresses in an `interval` set, within the prefix.
 */
import type { NftExpr, NftKey } from '../render/nftables/types.js';
import { addrMatches } from './addr.js';
import { forkUniform, type World } from './engine.js';
import { UnknownRuleError, unknownShape } from './types.js';

function unknown(what: string, value: unknown): never {
  return unknownShape('nftables', what, value);
}

/** Value of one key expression; numgen forks. */
function evalExpr(w: World, e: NftExpr): { world: World; value: string }[] {
  if (e.kind === 'numgen') {
    if (!Number.isInteger(e.mod) || e.mod < 1) unknown('numgen modulus', e.mod);
    return forkUniform(w, `numgen random mod ${e.mod}`, e.mod, (i) => `= ${i}`).map((b) => ({ world: b.world, value: String(b.value) }));
  }
  if (e.kind !== 'field') unknown('expression', e);
  switch (e.field) {
    case 'saddr': return [{ world: w, value: w.conn.saddr }];
    case 'daddr': return [{ world: w, value: w.conn.daddr }];
    case 'l4proto': return [{ world: w, value: w.conn.proto }];
    case 'dport': return [{ world: w, value: String(w.conn.dport) }];
    default: return unknown('field', e);
  }
}

export function evalKey(w: World, key: NftKey): { world: World; values: string[] }[] {
  let acc: { world: World; values: string[] }[] = [{ world: w, values: [] }];
  for (const e of key) {
    acc = acc.flatMap((a) => evalExpr(a.world, e).map((r) => ({ world: r.world, values: [...a.values, r.value] })));
  }
  return acc;
}

function partMatches(e: NftExpr, part: string, value: string, interval: boolean): boolean {
  if (e.kind === 'numgen' || (e.kind === 'field' && e.field === 'dport')) {
    if (!/^\d+$/.test(part)) unknown('numeric element part', part);
    return Number(part) === Number(value);
  }
  if (e.kind === 'field' && e.field === 'l4proto') {
    if (part !== 'tcp' && part !== 'udp' && part !== 'sctp') unknown('protocol element part', part);
    return part === value;
  }
  if (e.kind === 'field' && (e.field === 'saddr' || e.field === 'daddr')) return addrMatches(part, value, interval);
  return unknown('key expression', e);
}

export function findElement<T extends { readonly key: readonly string[] }>(
  elements: readonly T[], key: NftKey, values: readonly string[], interval: boolean, name: string,
): T | undefined {
  return elements.find((el) => {
    if (el.key.length !== key.length) {
      throw new UnknownRuleError(`nftables tracer: element ${el.key.join(' . ')} of @${name} does not fit a ${key.length}-part key`);
    }
    return key.every((e, i) => partMatches(e, el.key[i] ?? '', values[i] ?? '', interval));
  });
}
