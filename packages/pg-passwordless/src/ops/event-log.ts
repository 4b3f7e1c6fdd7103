/** How a long-running command (proxy, pool) writes its events: lines for people, or JSON for collectors. */
export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/**
 * One thing worth a log line: a refused login, a shutdown, a listener error. `message` is the line a
 * person reads; `fields` are the same facts for a machine. Neither ever holds a token.
 */
export interface OpsEvent {
  level: 'info' | 'warn' | 'error';
  /** A stable name to filter on: `login_refused`, `shutdown_started`, ... */
  event: string;
  message: string;
  fields?: Record<string, string | number | boolean | undefined>;
}

/** Writes one event. */
export type EventLog = (event: OpsEvent) => void;

/** The keys every JSON line has; a field of the same name cannot replace them. */
const RESERVED = new Set(['time', 'level', 'event', 'message']);

/**
 * An event log on a stream. `text`: `<prefix>: <message>`, one line as the proxy has always written it.
 * `json`: one JSON object a line, `time` (ISO 8601, UTC), `level`, `event`, `message`, then the fields,
 * so that a log collector (Cloud Logging, CloudWatch, Loki, Azure Monitor) indexes them without a parser.
 *
 * @example
 * const log = createEventLog({ format: 'json', stream: process.stdout, prefix: 'demo', now: () => 0 });
 * log({ level: 'warn', event: 'login_refused', message: 'refused a login', fields: { sqlstate: '28P01' } });
 * // {"time":"1970-01-01T00:00:00.000Z","level":"warn","event":"login_refused","message":"refused a login","sqlstate":"28P01"}
 * createEventLog({ format: 'text', stream: process.stdout, prefix: 'demo' })({ level: 'info', event: 'hello', message: 'hello' });
 * // demo: hello
 */
export function createEventLog(options: {
  format: LogFormat;
  stream: NodeJS.WritableStream;
  /** What a text line starts with: `pg-passwordless proxy`. */
  prefix: string;
  now?: () => number;
}): EventLog {
  const now = options.now ?? Date.now;
  if (options.format === 'text') {
    return (event) => options.stream.write(`${options.prefix}: ${event.message}\n`);
  }
  return (event) => {
    const line: Record<string, unknown> = {
      time: new Date(now()).toISOString(),
      level: event.level,
      event: event.event,
      message: event.message,
    };
    for (const [name, value] of Object.entries(event.fields ?? {})) {
      if (value !== undefined && !RESERVED.has(name)) line[name] = value;
    }
    options.stream.write(`${JSON.stringify(line)}\n`);
  };
}
