/** conntrack.suite.ts on iptables-legacy (./README.md: backends). */
import { conntrackSuite } from './conntrack.suite.js';

conntrackSuite('iptables-legacy');
