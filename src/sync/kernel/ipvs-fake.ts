/**
 * FakeIpvsTools — a FAKE of the tools the IPVS adapter runs (ipset, ipvsadm, ip,
 * iptables(-restore), sysctl) behind the Exec interface, for unit tests on a machine
 * without IPVS. It keeps the state a kernel would (sets, virtual/real servers,
 * kube-ipvs0 and its addresses, the glue text, jumps, sysctls), prints it as the tools
 * do (ipvs-state.ts), and refuses what the kernel refuses: a set or service that does not
 * exist, a real server added twice, a duplicate or missing address, an entry that does
 * not fit its set type. Each input (a restore or a batch) is applied to a copy and kept
 * only when all of it succeeded: stricter than `ipvsadm -R` and `ip -batch`, which stop
 * at the failing line and keep what came before (the proxier forgets its memory on any
 * failure and lists the kernel on its next, full sync, so either way ends the same).
 * The real tools are exercised in the IPVS VM (test/ipvs-vm/sync.test.ts).
 */
import type { ExecResult } from './exec.js';
import {
  ipsetCreateLine, parseIpvsLine, printIpvsSave, rsKey, serviceArgs, vsKey, type KService, type KSet,
} from './ipvs-state.js';
import type { IpsetType } from '../../render/ipvs/types.js';

interface State {
  sets: Map<string, KSet>;
  services: Map<string, KService>;
  device: boolean;
  addresses: Set<string>;
}

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, code = 1): ExecResult => ({ code, stdout: '', stderr });

function clone(s: State): State {
  return {
    sets: new Map([...s.sets].map(([k, v]) => [k, { ...v, entries: new Set(v.entries) }])),
    services: new Map([...s.services].map(([k, v]) => [k, { vs: v.vs, reals: new Map(v.reals) }])),
    device: s.device,
    addresses: new Set(s.addresses),
  };
}

const ENTRY: Readonly<Record<IpsetType, RegExp>> = {
  'bitmap:port': /^\d{1,5}$/,
  'hash:ip': /^[0-9a-f:.]+$/i,
  'hash:ip,port': /^[0-9a-f:.]+,(tcp|udp|sctp):\d+$/i,
  'hash:ip,port,ip': /^[0-9a-f:.]+,(tcp|udp|sctp):\d+,[0-9a-f:.]+$/i,
  'hash:ip,port,net': /^[0-9a-f:.]+,(tcp|udp|sctp):\d+,[0-9a-f:.]+(\/\d+)?$/i,
};

export class FakeIpvsTools {
  state: State = { sets: new Map(), services: new Map(), device: false, addresses: new Set() };
  /** Last glue restore text per tool (`iptables-restore`, `ip6tables-restore`). */
  readonly glue = new Map<string, string>();
  readonly jumps = new Set<string>();
  readonly sysctls = new Map<string, string>();
  timeouts: [number, number, number] = [900, 120, 300];
  /** Every call: argv joined by spaces, and the input. */
  readonly calls: { argv: string; input: string }[] = [];
  /** Connection counts `ipvsadm -L` reports, by vsKey then rsKey (default 0/0). */
  readonly connectionCounts = new Map<string, Map<string, { active: number; inactive: number }>>();
  /** The next call whose argv starts with this word fails with this stderr. */
  private failures: { tool: string; stderr: string }[] = [];

  failNext(tool: string, stderr = 'injected failure'): void {
    this.failures.push({ tool, stderr });
  }

  readonly exec = (argv: readonly string[], input = ''): Promise<ExecResult> => {
    this.calls.push({ argv: argv.join(' '), input });
    const i = this.failures.findIndex((f) => f.tool === argv[0]);
    if (i >= 0) return Promise.resolve(fail(this.failures.splice(i, 1)[0]!.stderr));
    return Promise.resolve(this.run(argv, input));
  };

  /** Calls whose argv starts with `prefix`. */
  count(prefix: string): number {
    return this.calls.filter((c) => c.argv.startsWith(prefix)).length;
  }

  /** Normalised state: sets, virtual servers, addresses (sorted lines). */
  dump(): string {
    const sets = [...this.state.sets.values()].flatMap((s) => [ipsetCreateLine(s), ...[...s.entries].map((e) => `add ${s.name} ${e}`)]);
    const ipvs = printIpvsSave(this.state.services.values()).split('\n').filter((l) => l !== '');
    const addrs = [...this.state.addresses].map((a) => `addr ${a}`);
    return [...sets, ...ipvs, ...addrs].sort().join('\n');
  }

  private run(argv: readonly string[], input: string): ExecResult {
    const [cmd, ...a] = argv;
    const args = a.join(' ');
    switch (cmd) {
      case 'ipset':
        if (args === 'save') return ok(this.ipsetSave());
        if (args === 'restore -exist') return this.transaction(input, (s, l, n) => this.ipsetLine(s, l, n));
        break;
      case 'ipvsadm':
        if (args === '-S -n') return ok(printIpvsSave(this.state.services.values()));
        if (args === '-R') return this.transaction(input, (s, l) => this.ipvsLine(s, l));
        if (a[0] === '-L' && a[1] === '-n') return this.list(a.slice(2));
        if (a[0] === '--set' && a.length === 4) {
          const t = a.slice(1).map(Number) as [number, number, number];
          this.timeouts = t.map((v, i) => (v === 0 ? this.timeouts[i]! : v)) as [number, number, number];
          return ok();
        }
        break;
      case 'ip':
        if (args === '-o addr show dev kube-ipvs0') {
          if (!this.state.device) return fail('Device "kube-ipvs0" does not exist.');
          return ok([...this.state.addresses].map((x) => `9: kube-ipvs0    ${x.includes(':') ? 'inet6' : 'inet'} ${x}/${x.includes(':') ? 128 : 32} scope global kube-ipvs0\n`).join(''));
        }
        if (args === 'link add kube-ipvs0 type dummy') {
          if (this.state.device) return fail('RTNETLINK answers: File exists', 2);
          this.state.device = true;
          return ok();
        }
        if (args === 'link set kube-ipvs0 up') return this.state.device ? ok() : fail('Cannot find device "kube-ipvs0"');
        if (args === '-batch -') return this.transaction(input, (s, l, n) => this.addrLine(s, l, n));
        break;
      case 'iptables-restore': case 'ip6tables-restore':
        if (args === '-w --noflush') {
          if (!/^\*(nat|filter)$/m.test(input) || !/^COMMIT$/m.test(input)) return fail(`${cmd}: line 1 failed`);
          this.glue.set(cmd, input);
          return ok();
        }
        break;
      case 'iptables': case 'ip6tables': {
        const key = `${cmd} ${a.filter((w, i) => !(w === '-w') && !(a[i - 1] === '-I' || w === '-I' || w === '-C') && !(w === '1' && a[i - 2] === '-I')).join(' ')}`;
        if (a[3] === '-C') return this.jumps.has(key) ? ok() : fail('iptables: Bad rule (does a matching rule exist in that chain?).');
        if (a[3] === '-I') { this.jumps.add(key); return ok(); }
        break;
      }
      case 'sysctl':
        if (a[0] === '-w' && a[1]?.includes('=')) {
          const [k, v] = a[1].split('=');
          this.sysctls.set(k!, v!);
          return ok();
        }
        break;
    }
    return fail(`fake: unsupported command: ${argv.join(' ')}`, 2);
  }

  /** Applies input line by line to a copy; commits only when every line succeeded. */
  private transaction(input: string, line: (s: State, l: string, n: number) => string | undefined): ExecResult {
    const copy = clone(this.state);
    const lines = input.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const l = lines[n]!.trim();
      if (l === '') continue;
      const err = line(copy, l, n + 1);
      if (err !== undefined) return fail(err);
    }
    this.state = copy;
    return ok();
  }

  private ipsetSave(): string {
    return [...this.state.sets.values()].map((s) => [ipsetCreateLine(s), ...[...s.entries].map((e) => `add ${s.name} ${e}`)].join('\n') + '\n').join('');
  }

  private ipsetLine(s: State, l: string, n: number): string | undefined {
    const w = l.split(/\s+/);
    const err = (m: string): string => `ipset v7.17: Error in line ${n}: ${m}`;
    const set = s.sets.get(w[1] ?? '');
    switch (w[0]) {
      case 'create': {
        const type = w[2] as IpsetType;
        if (!(type in ENTRY)) return err(`Syntax error: typename '${w[2]}' is unknown`);
        if (set) return set.type === type ? undefined : err('Set cannot be created: set with the same name already exists');
        const fam = w[w.indexOf('family') + 1];
        s.sets.set(w[1]!, { name: w[1]!, type, ...(type === 'bitmap:port' ? {} : { family: fam === 'inet6' ? 'inet6' as const : 'inet' as const }), entries: new Set() });
        return undefined;
      }
      case 'add': case 'del': {
        if (!set) return err('The set with the given name does not exist');
        const e = w[2] ?? '';
        if (!ENTRY[set.type].test(e) || (set.family === 'inet6') !== e.split(',')[0]!.includes(':') && set.type !== 'bitmap:port') {
          return err(`Syntax error: '${e}' is not a valid ${set.type} element`);
        }
        if (w[0] === 'add') set.entries.add(e); else set.entries.delete(e); // -exist: no error either way
        return undefined;
      }
      case 'flush': if (!set) return err('The set with the given name does not exist'); set.entries.clear(); return undefined;
      case 'destroy': if (!set) return err('The set with the given name does not exist'); s.sets.delete(w[1]!); return undefined;
      default: return err(`Syntax error: unknown command ${w[0]}`);
    }
  }

  private ipvsLine(s: State, l: string): string | undefined {
    const p = parseIpvsLine(l);
    if (!p) return `ipvsadm: invalid line ${JSON.stringify(l)}`;
    if (p.verb === '-C') { s.services.clear(); return undefined; }
    if (p.verb === '-A') {
      if (s.services.has(vsKey(p.vs))) return 'Service already exists';
      s.services.set(vsKey(p.vs), { vs: p.vs, reals: new Map() });
      return undefined;
    }
    const key = 'vs' in p ? vsKey(p.vs) : p.key;
    const svc = s.services.get(key);
    if (!svc) return 'No such service';
    switch (p.verb) {
      case '-E': s.services.set(key, { vs: p.vs, reals: svc.reals }); return undefined;
      case '-D': s.services.delete(key); return undefined;
      case '-a': if (svc.reals.has(rsKey(p.rs))) return 'Destination already exists'; svc.reals.set(rsKey(p.rs), p.rs); return undefined;
      case '-e': if (!svc.reals.has(rsKey(p.rs))) return 'No such destination'; svc.reals.set(rsKey(p.rs), p.rs); return undefined;
      case '-d': if (!svc.reals.delete(rsKey(p.rs))) return 'No such destination'; return undefined;
    }
  }

  private list(a: readonly string[]): ExecResult {
    const only = a.length === 2 ? parseIpvsLine(`-D ${a.join(' ')}`) : undefined;
    const out = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
    for (const [k, svc] of this.state.services) {
      if (only?.verb === '-D' && only.key !== k) continue;
      out.push(`${svc.vs.protocol.toUpperCase()}  ${serviceArgs(svc.vs)[1]} ${svc.vs.scheduler}`);
      for (const [rk, r] of svc.reals) {
        const c = this.connectionCounts.get(k)?.get(rk) ?? { active: 0, inactive: 0 };
        out.push(`  -> ${rsKey(r)}  Masq    ${r.weight}      ${c.active}          ${c.inactive}`);
      }
    }
    if (only?.verb === '-D' && !this.state.services.has(only.key)) return fail('Memory allocation problem');
    return ok(`${out.join('\n')}\n`);
  }

  private addrLine(s: State, l: string, n: number): string | undefined {
    const m = /^address (add|del) ([0-9a-f:.]+)\/(\d+) dev kube-ipvs0( nodad preferred_lft 0)?$/.exec(l);
    const err = (msg: string): string => `${msg}\nCommand failed -:${n}`;
    if (!m) return err(`Error: an unexpected line: ${l}`);
    if (!s.device) return err('Cannot find device "kube-ipvs0"');
    const a = m[2]!;
    if (m[1] === 'add') {
      if (s.addresses.has(a)) return err('RTNETLINK answers: File exists');
      s.addresses.add(a);
    } else if (!s.addresses.delete(a)) return err('RTNETLINK answers: Cannot assign requested address');
    return undefined;
  }
}
