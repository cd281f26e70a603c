/** Structured logs: one JSON object per line, with a level threshold from BESS_LOG (debug, info, warn, error). */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(
  threshold: Level = 'info',
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  return (level, msg, fields = {}) => {
    if (ORDER[level] < ORDER[threshold]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

export const silentLogger: Logger = () => {};
