/** parity.suite.ts on iptables-legacy (./README.md: backends). */
import { paritySuite } from './parity.suite.js';

paritySuite('iptables-legacy');
