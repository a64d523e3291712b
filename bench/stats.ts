/** Small statistics helpers for the benchmarks. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function report(name: string, ours: number, reference: number, unit: string, referenceName: string): void {
  const ratio = ours / reference;
  process.stdout.write(
    `${name}: ${ours.toFixed(2)} ${unit} (ML Lab) vs ${reference.toFixed(2)} ${unit} (${referenceName}), ratio ${ratio.toFixed(2)}\n`,
  );
}
