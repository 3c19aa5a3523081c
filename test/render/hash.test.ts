/** One naming hash and one endpoint-string helper for every backend (issue 9, item 6). */
import { base32Sha256 } from '../../src/render/hash.js';
import * as iptables from '../../src/render/iptables/index.js';
import * as nftables from '../../src/render/nftables/index.js';
import { endpointString } from '../../src/model/index.js';
import { hostPort } from '../../src/trace/addr.js';
import { ipvsAddress } from '../../src/render/ipvs/format.js';

describe('shared naming helpers', () => {
  it('every backend hashes names with the one base32(sha256) helper, as kube-proxy does', () => {
    expect(iptables.base32Sha256).toBe(base32Sha256);
    expect(nftables.base32Sha256).toBe(base32Sha256);
    // kube-proxy's own examples (DESIGN.md): KUBE-SVC-XPGD46QRK7WJZT7O, KUBE-SEP-SXIVWICOYRO3J4NJ.
    expect(base32Sha256('ns1/svc1:p80tcp').slice(0, 16)).toBe('XPGD46QRK7WJZT7O');
    expect(base32Sha256('ns1/svc1:p80tcp10.180.0.1:80').slice(0, 16)).toBe('SXIVWICOYRO3J4NJ');
  });

  it('every part prints endpoints with the one endpoint-string helper', () => {
    expect(iptables.endpointString).toBe(endpointString);
    expect(hostPort).toBe(endpointString);
    // ipvsAddress checks its input (printer allowlist), then prints with the one helper.
    expect(ipvsAddress('fd00::1', 80)).toBe(endpointString('fd00::1', 80));
    expect(ipvsAddress('10.0.0.1', 80)).toBe(endpointString('10.0.0.1', 80));
    expect(endpointString('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(endpointString('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });
});
