/** health.suite.ts on nftables (./README.md: backends). */
import { healthSuite } from './health.suite.js';

healthSuite('nftables');
