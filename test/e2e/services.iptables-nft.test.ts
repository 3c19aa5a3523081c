/** services.suite.ts on iptables-nft (./README.md: backends). */
import { servicesSuite } from './services.suite.js';

servicesSuite('iptables-nft');
