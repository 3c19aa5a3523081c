/** Packet tracers over each backend's typed ruleset (see README.md). */
export type * from './types.js';
export { UnknownRuleError, TraceInputError } from './types.js';
export { nftablesTracer, nftablesProgram } from './nftables.js';
export { iptablesTracer, iptablesProgram } from './iptables.js';
export { ipvsTracer, ipvsProgram } from './ipvs.js';
export { runTrace, fork, forkUniform, addStep, withConn } from './engine.js';
export type { HookEntry, TraceProgram, World, Conn, ChainExit } from './engine.js';
export { formatTrace, traceJson } from './format.js';
