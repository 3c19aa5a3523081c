/** health.suite.ts on iptables-legacy (./README.md: backends). */
import { healthSuite } from './health.suite.js';

healthSuite('iptables-legacy');
