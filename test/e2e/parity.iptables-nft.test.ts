/** parity.suite.ts on iptables-nft (./README.md: backends). */
import { paritySuite } from './parity.suite.js';

paritySuite('iptables-nft');
