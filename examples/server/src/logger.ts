/** Log severities, lowest first. */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: one JSON object per line on stdout. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const order: Record<LogLevelName | 'silent', number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

/** Field names whose values are never written (keys, tokens, signed URLs). */
const secretField = /authorization|api[-_]?key|secret|token|password|cookie|signature/i;

/** Replaces secrets in a value before it is logged: secret-named fields and tunnel tokens in paths. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/(\/api\/(?:tunnel|mux)\/)[^/?\s]+/g, '$1<token>')
      .replace(/([?&](?:key|token|sig|signature|api_key)=)[^&\s]+/gi, '$1***');
  }
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value))
    out[key] = secretField.test(key) ? '***' : redact(item, depth + 1);
  return out;
}

/**
 * Creates the server's logger: JSON lines (`{ time, level, msg, …fields }`) at or above `level`, with secrets
 * removed by {@link redact}. `write` defaults to stdout (tests capture lines with their own).
 */
export function createLogger(
  level: LogLevelName | 'silent' = 'info',
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = order[level];
  const log = (name: LogLevelName) => (message: string, fields?: Record<string, unknown>) => {
    if (order[name] < threshold) return;
    const entry = {
      time: new Date().toISOString(),
      level: name,
      msg: redact(message),
      ...(redact(fields ?? {}) as object),
    };
    write(JSON.stringify(entry));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
