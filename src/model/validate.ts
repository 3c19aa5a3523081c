/**
 * Small validators that collect problems with their field path instead of throwing.
 * Every string a renderer may print (names, ports, IPs) passes through one of these, so
 * nothing hostile (`10.0.0.1; flush ruleset`, quotes, newlines) reaches a rule.
 *
 * Each check accepts exactly what the API server's check of the same name accepts
 * (k8s.io/apimachinery pkg/util/validation); the caller decides what a bad value costs:
 * `fail` skips the whole object, `ignore` leaves out just the value (or the endpoint,
 * or the port) and keeps the rest.
 */
import { parseCIDRSloppy, parseIPSloppy, type ParsedCIDR, type ParsedIP } from './ip.js';
import type { ObjectKind, Problem, Protocol } from './types.js';

/** apimachinery IsDNS1123Label: at most 63. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** apimachinery IsDNS1123Subdomain: at most 253. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** apimachinery IsValidLabelValue: empty, or at most 63 of [A-Za-z0-9_.-] starting and ending alphanumeric. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isDNSLabel(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 63 && DNS1123_LABEL.test(v);
}

export function isDNSSubdomain(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 253 && DNS1123_SUBDOMAIN.test(v);
}

export function isLabelValue(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v);
}

/** What a bad value costs: the object (`fail`) or the value alone (`ignore`). */
export type Cost = 'fail' | 'ignore';

/** Collects the problems of one object. `fail` marks the object as skipped. */
export class Checker {
  readonly problems: Problem[] = [];
  private failed = false;

  constructor(readonly kind: ObjectKind, readonly object: string) {}

  get ok(): boolean {
    return !this.failed;
  }

  fail(path: string, message: string): undefined {
    this.failed = true;
    this.problems.push({ kind: this.kind, object: this.object, path, message, effect: 'skipped' });
    return undefined;
  }

  ignore(path: string, message: string): undefined {
    this.problems.push({ kind: this.kind, object: this.object, path, message, effect: 'ignored' });
    return undefined;
  }

  /** Reports a bad value at the given cost; always undefined. */
  bad(cost: Cost, path: string, message: string): undefined {
    return cost === 'fail' ? this.fail(path, message) : this.ignore(path, message);
  }

  dnsLabel(path: string, v: unknown, cost: Cost = 'fail'): string | undefined {
    if (isDNSLabel(v)) return v;
    return this.bad(cost, path, `must be a DNS label (lower-case alphanumerics and '-', at most 63), got ${show(v)}`);
  }

  dnsSubdomain(path: string, v: unknown, cost: Cost = 'fail'): string | undefined {
    if (isDNSSubdomain(v)) return v;
    return this.bad(cost, path, `must be a DNS subdomain, got ${show(v)}`);
  }

  labelValue(path: string, v: unknown, cost: Cost = 'fail'): string | undefined {
    if (isLabelValue(v)) return v;
    return this.bad(cost, path, `must be a label value (alphanumerics, '-', '_', '.', at most 63), got ${show(v)}`);
  }

  port(path: string, v: unknown, cost: Cost = 'fail'): number | undefined {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    return this.bad(cost, path, `must be a port number 1-65535, got ${show(v)}`);
  }

  /** A port protocol; absent means TCP (the v1 API's default). */
  protocol(path: string, v: unknown, cost: Cost = 'fail'): Protocol | undefined {
    if (v === undefined || v === null) return 'tcp';
    if (v === 'TCP' || v === 'UDP' || v === 'SCTP') return v.toLowerCase() as Protocol;
    return this.bad(cost, path, `unknown protocol ${show(v)} (want TCP, UDP or SCTP)`);
  }

  /** An IP as the API server validates it (sloppy: leading zeros read as decimal). */
  ip(path: string, v: unknown, cost: Cost = 'fail'): ParsedIP | undefined {
    const ip = typeof v === 'string' ? parseIPSloppy(v) : undefined;
    return ip ?? this.bad(cost, path, `not a valid IP address: ${show(v)}`);
  }

  /**
   * A CIDR as kube-proxy reads loadBalancerSourceRanges: white space trimmed (the API
   * server trims before validating), then netutils.ParseCIDRSloppy.
   */
  cidr(path: string, v: unknown, cost: Cost = 'fail'): ParsedCIDR | undefined {
    const c = typeof v === 'string' ? parseCIDRSloppy(v.trim()) : undefined;
    return c ?? this.bad(cost, path, `not a valid CIDR: ${show(v)}`);
  }

  /** A string-valued field that must be one of `allowed` (or absent → fallback). */
  oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[], fallback: T): T | undefined {
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    return this.fail(path, `must be one of ${allowed.join(', ')}, got ${show(v)}`);
  }

  /** An optional array; anything else is a problem. */
  array(path: string, v: unknown): readonly unknown[] | undefined {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    return this.fail(path, `must be a list, got ${show(v)}`);
  }
}

/** A short, printable rendering of a bad value for log lines (never raw control chars). */
export function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `namespace/name` for messages, made printable even when the names are hostile. */
export function objectName(meta: { namespace?: unknown; name?: unknown } | undefined): string {
  const part = (v: unknown): string => (typeof v === 'string' ? v : '?').replace(/[^\x20-\x7e]/g, '?').slice(0, 253);
  const ns = meta?.namespace;
  return ns === undefined ? part(meta?.name) : `${part(ns)}/${part(meta?.name)}`;
}
