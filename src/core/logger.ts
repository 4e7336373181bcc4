/** One logger with levels; everything outside cli/ and report writers logs through it (to stderr). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

let level: LogLevel = (process.env['EDGECHAOS_LOG'] as LogLevel | undefined) ?? 'info';
const secrets = new Set<string>();

export function setLogLevel(l: LogLevel): void {
  level = l;
}

/** Register a secret (key material, token) so it is masked in every log line. */
export function registerSecret(value: string): void {
  if (value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

function emit(l: LogLevel, scope: string, msg: string): void {
  if (order[l] < order[level]) return;
  const t = new Date().toISOString().slice(11, 23);
  console.error(`${t} ${l.padEnd(5)} ${scope}: ${redact(msg)}`);
}

export function logger(scope: string): Logger {
  return {
    debug: (m) => emit('debug', scope, m),
    info: (m) => emit('info', scope, m),
    warn: (m) => emit('warn', scope, m),
    error: (m) => emit('error', scope, m),
  };
}
