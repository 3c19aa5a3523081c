/** services.suite.ts on nftables (./README.md: backends). */
import { servicesSuite } from './services.suite.js';

servicesSuite('nftables');
