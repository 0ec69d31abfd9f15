import { pino, type Logger } from "pino";

/**
 * The one logger: pino JSON lines on stderr, or readable lines when stderr is a terminal. Fields that
 * could carry secrets are censored wherever they appear.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  const redact = {
    paths: [
      "token",
      "*.token",
      "clientSecret",
      "*.clientSecret",
      "passphrase",
      "*.passphrase",
      "headers",
      "*.headers",
    ],
    censor: "[redacted]",
  };
  if (!process.stderr.isTTY) return pino({ name, level, redact }, pino.destination(2));
  return pino(
    { name, level, redact },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { time: number; level: number; msg: string };
        const label = pino.levels.labels[entry.level] ?? String(entry.level);
        process.stderr.write(
          `${new Date(entry.time).toISOString().slice(11, 19)} ${label.padEnd(5)} ${entry.msg}\n`,
        );
      },
    },
  );
}
