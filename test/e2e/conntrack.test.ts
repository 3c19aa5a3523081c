/** conntrack.suite.ts on nftables (./README.md: backends). */
import { conntrackSuite } from './conntrack.suite.js';

conntrackSuite('nftables');
