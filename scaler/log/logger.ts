import { pino, type Logger } from "pino";
import type { Log } from "../controller/ports.js";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The one logger: pino JSON lines on stderr, or readable lines when stderr is a terminal. Fields that
 * could carry secrets are censored wherever they appear.
 */
export function createLogger(name: string, level: LogLevel = "info"): Logger {
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
        const {
          time,
          level: value,
          msg,
          name: _name,
          pid: _pid,
          hostname: _host,
          ...fields
        } = JSON.parse(line) as { time: number; level: number; msg: string; [key: string]: unknown };
        const label = pino.levels.labels[value] ?? String(value);
        const extra = Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(" ");
        process.stderr.write(
          `${new Date(time).toISOString().slice(11, 19)} ${label.padEnd(5)} ${msg}${extra ? `  ${extra}` : ""}\n`,
        );
      },
    },
  );
}

/** The controller's Log on a pino logger: the message, and the fields that say what it is about. */
export function logTo(logger: Logger): Log {
  return (level, message, fields) => logger[level](fields ?? {}, message);
}
