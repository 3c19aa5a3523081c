/** health.suite.ts on iptables-nft (./README.md: backends). */
import { healthSuite } from './health.suite.js';

healthSuite('iptables-nft');
