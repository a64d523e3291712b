import type { OperationProgress } from '../protocol/datasets';

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** One line of progress for a terminal, redrawn in place on stderr (nothing when not a terminal). */
export class ProgressBar {
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** `phase`: what is going on (packaging, uploading, ...) */
  update(p: Omit<OperationProgress, 'operationId' | 'phase'> & { readonly phase: string }): void {
    if (!this.stream.isTTY) {
      return;
    }
    const fraction = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const files = p.totalFiles > 1 ? `, ${p.files}/${p.totalFiles} files` : '';
    const line = `${p.phase} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}${files}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}
