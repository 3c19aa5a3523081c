/**
 * The one naming hash of kpx's renderers: kube-proxy's (pkg/proxy/iptables
 * servicePortChainName and friends) — RFC 4648 base32 (standard alphabet, upper case,
 * no padding) of sha256(text), as Go's base32.StdEncoding.EncodeToString. Renderers take
 * a prefix of it: 16 characters for iptables chains, 16 and 8 for nftables affinity
 * names (see each backend's names.ts for the length arithmetic).
 */
import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Sha256(text: string): string {
  const bytes = createHash('sha256').update(text, 'utf8').digest();
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}
