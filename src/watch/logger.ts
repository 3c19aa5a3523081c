/**
 * The logging this layer needs: pino's call shape (`logger.warn(fields, message)`), so a
 * pino logger can be passed as is. Default: silent.
 */
export interface WatchLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: WatchLogger = {
  info: () => undefined,
  warn: () => undefined,
};
