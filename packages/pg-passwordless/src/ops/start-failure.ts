import { PasswordlessError } from '../core/errors.ts';
import { createEventLog, type LogFormat } from './event-log.ts';

/**
 * Runs a long-running command (proxy, pool); with JSON logs, a failure with a stable code (a bad flag,
 * no token at start) is a JSON line too, as a log collector expects every line to be: event `failed`,
 * its code and hint. With text logs the failure goes on to the command frame, which prints it.
 *
 * @example
 * const code = await reportingFailures({ format: 'json', stream: process.stderr, prefix: 'demo' }, async () => 0);
 * console.log(code); // 0
 * // A PasswordlessError thrown by `run` instead: 1, and on the stream one line such as
 * // {"time":"…","level":"error","event":"failed","message":"no target","code":"CONFIG_INVALID","hint":"Pass a URL."}
 */
export async function reportingFailures(
  log: { format: LogFormat; stream: NodeJS.WritableStream; prefix: string },
  run: () => Promise<number>,
): Promise<number> {
  if (log.format === 'text') return run();
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof PasswordlessError)) throw error;
    createEventLog(log)({
      level: 'error',
      event: 'failed',
      message: error.message.split('\nHint: ', 1)[0] as string,
      fields: { code: error.code, hint: error.hint },
    });
    return 1;
  }
}
