import * as path from 'path';
import type { DatasetVersion } from '../../../protocol/datasets';

/** How a version is previewed: a table of rows, the entries of a zip, a text editor, or details only. */
export type PreviewKind = 'csv' | 'zip' | 'text' | 'none';

const TEXT_TYPES = new Set([
  'application/json',
  'application/x-ndjson',
  'application/xml',
  'application/graphml+xml',
  'application/yaml',
]);

export function previewKindOf(version: DatasetVersion): PreviewKind {
  const ext = path.extname(version.fileName).toLowerCase();
  if (version.kind === 'package' || version.mediaType === 'application/zip') {
    return 'zip';
  }
  if (
    version.mediaType === 'text/csv' ||
    version.mediaType === 'text/tab-separated-values' ||
    ['.csv', '.tsv', '.tab'].includes(ext)
  ) {
    return 'csv';
  }
  if (version.mediaType.startsWith('text/') || TEXT_TYPES.has(version.mediaType)) {
    return 'text';
  }
  return 'none';
}
