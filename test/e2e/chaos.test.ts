/** chaos.suite.ts on nftables (./README.md: backends). */
import { chaosSuite } from './chaos.suite.js';

chaosSuite('nftables');
