/** services.suite.ts on iptables-legacy (./README.md: backends). */
import { servicesSuite } from './services.suite.js';

servicesSuite('iptables-legacy');
