/**
 * The IP families a sync programmed, for the per-family health status: IPv4 always;
 * IPv6 when the node has an IPv6 address or some Service has IPv6 ports (the nftables
 * proxier's rule for its `ip6` table). Kept incrementally from `SyncResult.affected`:
 * a sync costs O(affected Services), a rebuild O(Services).
 */
import type { IPFamily } from '../model/types.js';
import type { SyncResult } from './types.js';

export class ProgrammedFamilies {
  /** Services with at least one IPv6 port. */
  private readonly withIPv6 = new Set<string>();

  after(result: Pick<SyncResult, 'model' | 'affected'>): IPFamily[] {
    const m = result.model;
    if (result.affected === 'all') {
      this.withIPv6.clear();
      for (const key of m.keys()) if (m.ports(key, 'ipv6').length > 0) this.withIPv6.add(key);
    } else {
      for (const key of result.affected) {
        if (m.ports(key, 'ipv6').length > 0) this.withIPv6.add(key);
        else this.withIPv6.delete(key);
      }
    }
    return m.family('ipv6').nodeIPs.length > 0 || this.withIPv6.size > 0 ? ['ipv4', 'ipv6'] : ['ipv4'];
  }
}
