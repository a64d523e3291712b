import * as path from 'path';

/** Delimiters a sniffed file may use, in order of preference when several fit equally well. */
const CANDIDATES = [',', '\t', ';', '|'];

/** The delimiter a file name implies (`.tsv`, `.tab`), or undefined when it should be sniffed. */
export function delimiterForFileName(fileName: string): string | undefined {
  const ext = path.extname(fileName).toLowerCase();
  return ext === '.tsv' || ext === '.tab' ? '\t' : undefined;
}

/**
 * Guesses the delimiter from the start of a file: the candidate that occurs the same number of times
 * (at least once) on each of the first lines wins; quoted text is ignored. `complete` says whether
 * `sample` is the whole file (otherwise its last line may be cut and is not looked at).
 */
export function sniffDelimiter(sample: string, complete = false): string {
  const unquoted = sample.replace(/^\uFEFF/, '').replace(/"(?:[^"]|"")*("|$)/g, '""');
  let lines = unquoted.split(/\r\n|\n|\r/);
  if (!complete && lines.length > 1) {
    lines = lines.slice(0, -1);
  }
  lines = lines.filter((l) => l.length > 0).slice(0, 20);
  if (lines.length === 0) {
    return ',';
  }
  let best: { delimiter: string; count: number } | undefined;
  for (const delimiter of CANDIDATES) {
    const counts = lines.map((l) => l.split(delimiter).length - 1);
    const consistent = counts[0] > 0 && counts.every((c) => c === counts[0]);
    if (consistent && (!best || counts[0] > best.count)) {
      best = { delimiter, count: counts[0] };
    }
  }
  if (best) {
    return best.delimiter;
  }
  // no candidate is consistent (ragged rows): take the most frequent one on the first line
  const first = lines[0];
  const counts = CANDIDATES.map((d) => first.split(d).length - 1);
  const max = Math.max(...counts);
  return max > 0 ? CANDIDATES[counts.indexOf(max)] : ',';
}
