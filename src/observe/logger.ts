/**
 * The controller's logger: pino, JSON lines on stderr. kube-proxy's `-v`/`--v`
 * verbosity maps onto pino's levels (`levelFor`).
 */
import { pino } from 'pino';

/** The calls kpx makes (pino's shape: fields first, then the message). */
export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** klog verbosity → pino level: 0–2 info (kube-proxy's default is 0), 3–4 debug, 5+ trace. */
export function levelFor(verbosity: number): 'info' | 'debug' | 'trace' {
  return verbosity >= 5 ? 'trace' : verbosity >= 3 ? 'debug' : 'info';
}

/** Lines go to `stream` (process.stderr: synchronous for files and pipes on Linux, so nothing is lost at exit). */
export function createLogger(verbosity: number, stream: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level: levelFor(verbosity), base: { component: 'kpx' } }, stream);
}

export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
