/** Progress of packaging a folder: files and uncompressed bytes done, of the totals found by the walk. */
export interface PackProgress {
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

const INTERVAL_MS = 100;

/** Calls `report` at most every 100 ms (10 times a second), and always for the final figures. */
export class ProgressThrottle {
  private last = -Infinity;
  files = 0;
  bytes = 0;

  constructor(
    private readonly totalFiles: number,
    private readonly totalBytes: number,
    private readonly report: ((p: PackProgress) => void) | undefined,
  ) {}

  tick(final = false): void {
    if (this.report === undefined) {
      return;
    }
    const now = performance.now();
    if (final || now - this.last >= INTERVAL_MS) {
      this.last = now;
      this.report({
        files: this.files,
        totalFiles: this.totalFiles,
        bytes: this.bytes,
        // a file that grew while being read must not make the bar go past 100%
        totalBytes: Math.max(this.totalBytes, this.bytes),
      });
    }
  }
}
