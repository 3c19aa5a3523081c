/** Structured logging (pino). One line per event; problems carry object, field path and effect. */
import { pino, type Logger } from 'pino';
import type { Problem } from '../model/types.js';

export type { Logger };

/** A logger writing JSON lines to stderr (fd 2), leaving stdout for rendered rules. */
export function createLogger(level: string = process.env['KPX_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { app: 'kpx' } }, pino.destination(2));
}

export function logProblems(log: Logger, problems: readonly Problem[]): void {
  for (const p of problems) {
    const fields = { kind: p.kind, object: p.object, path: p.path, effect: p.effect };
    if (p.effect === 'not-proxied') log.debug(fields, p.message);
    else log.warn(fields, `${p.kind} ${p.object}: ${p.path}: ${p.message}`);
  }
}
