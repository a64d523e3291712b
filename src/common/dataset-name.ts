import * as path from 'path';

/**
 * Turns a file or folder name into a valid dataset name ("my data (1).csv" -> "my data -1-.csv"):
 * the lab names a dataset added by path so, and a client sending one names it the same way.
 */
export function defaultDatasetName(source: string): string {
  const base = path
    .basename(source)
    .replace(/[^\p{L}\p{N} ._-]/gu, '-')
    .replace(/^[^\p{L}\p{N}]+/u, '');
  const trimmed = [...base]
    .slice(0, 64)
    .join('')
    .replace(/[ .]+$/, '');
  return trimmed.length > 0 ? trimmed : 'dataset';
}
