/** conntrack.suite.ts on iptables-nft (./README.md: backends). */
import { conntrackSuite } from './conntrack.suite.js';

conntrackSuite('iptables-nft');
