/** chaos.suite.ts on iptables-nft (./README.md: backends). */
import { chaosSuite } from './chaos.suite.js';

chaosSuite('iptables-nft');
