/** parity.suite.ts on nftables (./README.md: backends). */
import { paritySuite } from './parity.suite.js';

paritySuite('nftables');
