/** Parses "name", "name:v3" or "name:3" as people write dataset references in code and terminals. */
export function parseDatasetRef(ref: string): { name: string; version: number | 'latest' } {
  const m = /^(.*):v?([1-9][0-9]*)$/.exec(ref);
  return m ? { name: m[1], version: Number(m[2]) } : { name: ref, version: 'latest' };
}

export function formatDatasetRef(name: string, version: number): string {
  return `${name}:v${version}`;
}
