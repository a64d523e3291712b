/**
 * CSV text per RFC 4180: fields holding a comma, a quote, CR or LF are quoted, quotes doubled,
 * records end with CRLF. Leading or trailing spaces are quoted too, so no reader trims them.
 */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(header: readonly string[], rows: Iterable<readonly string[]>): string {
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) {
    lines.push(row.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
