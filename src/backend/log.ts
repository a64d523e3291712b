import * as fs from 'fs';
import * as path from 'path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Appends timestamped lines to the backend log file (and optionally stderr). Tokens never reach the
 * log: callers log ids and names, never credentials, and `redact` strips anything that looks like a
 * bearer token as a second line of defence.
 */
export class FileLogger implements Logger {
  private readonly fd: number;

  constructor(
    readonly file: string,
    private readonly echo: boolean,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  debug(message: string): void {
    if (process.env.MLLAB_DEBUG) {
      this.write('debug', message);
    }
  }
  info(message: string): void {
    this.write('info', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  error(message: string): void {
    this.write('error', message);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private write(level: LogLevel, message: string): void {
    const line = `${new Date().toISOString()} ${level.padEnd(5)} ${redact(message)}\n`;
    fs.writeSync(this.fd, line);
    if (this.echo) {
      process.stderr.write(line);
    }
  }
}

export function redact(text: string): string {
  return text.replace(/(Bearer\s+)[A-Za-z0-9._-]+/gi, '$1<redacted>');
}

/** A logger that keeps lines in memory, for tests of logic that logs its decisions. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(message: string): void {
    this.lines.push(`debug ${message}`);
  }
  info(message: string): void {
    this.lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}
