import { BackendError } from '../client/api-client';

/** Where CLI commands write: JSON for scripts (--json) or text for people. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Prints `value` as JSON, or `text()` for a person. */
  result(value: unknown, text: () => string): void {
    this.out.write(this.json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
  }

  fail(error: unknown): number {
    const e =
      error instanceof BackendError
        ? { code: error.code, message: error.message }
        : { code: 'error', message: error instanceof Error ? error.message : String(error) };
    if (this.json) {
      this.out.write(JSON.stringify({ error: e }, null, 2) + '\n');
    } else {
      this.err.write(`mllab: ${e.message}\n`);
    }
    return 1;
  }
}

/** Formats rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) {
    return '';
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Checks the number of positional arguments of a subcommand, with its usage in the error. */
export function expectArgs(command: string, args: readonly string[], count: number, usage: string): void {
  if (args.length !== count) {
    throw new Error(`"mllab ${command}" takes ${count} argument${count === 1 ? '' : 's'}. Usage:\n${usage}`);
  }
}
