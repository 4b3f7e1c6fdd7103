/** Where pg-passwordless reports warnings. Messages never contain a token. */
export interface Logger {
  warn(message: string): void;
}

/**
 * The default logger: one line on stderr, prefixed so it is easy to find.
 *
 * @example
 * consoleLogger.warn('plugin "x" failed'); // stderr: pg-passwordless: plugin "x" failed
 */
export const consoleLogger: Logger = {
  warn: (message) => console.warn(`pg-passwordless: ${message}`),
};
