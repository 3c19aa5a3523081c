/** chaos.suite.ts on iptables-legacy (./README.md: backends). */
import { chaosSuite } from './chaos.suite.js';

chaosSuite('iptables-legacy');
