import { formatDatasetRef } from '../../protocol/dataset-ref';
import type { Dataset, DatasetVersion } from '../../protocol/datasets';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB" (binary multiples, as the editor shows file sizes). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** 10000 -> "10,000" */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "2024-05-01 14:03", local time */
export function formatShortDate(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function refOf(version: DatasetVersion): string {
  return formatDatasetRef(version.name, version.version);
}

/** "file" or "package: 12 files" */
export function kindOf(version: DatasetVersion): string {
  return version.kind === 'package'
    ? `package: ${formatCount(version.fileCount ?? 0)} file${version.fileCount === 1 ? '' : 's'}`
    : 'file';
}

export function latestOf(dataset: Dataset): DatasetVersion | undefined {
  return dataset.versions[dataset.versions.length - 1];
}

/** Every recorded detail of a version as label/value pairs (tooltip, preview header). */
export function versionDetails(version: DatasetVersion): { label: string; value: string; monospace?: boolean }[] {
  const fields: { label: string; value: string; monospace?: boolean }[] = [
    { label: 'Size', value: `${formatBytes(version.size)} (${formatCount(version.size)} bytes)` },
    { label: 'Kind', value: kindOf(version) },
  ];
  if (version.unpackedSize !== null) {
    fields.push({ label: 'Unpacked size', value: formatBytes(version.unpackedSize) });
  }
  fields.push(
    { label: 'Media type', value: version.mediaType },
    { label: 'File name', value: version.fileName },
    { label: 'SHA-256', value: version.sha256, monospace: true },
    { label: 'Created', value: new Date(version.createdAt).toLocaleString() },
    { label: 'Operator', value: version.operator },
  );
  if (version.description) {
    fields.push({ label: 'Description', value: version.description });
  }
  if (version.tags.length > 0) {
    fields.push({ label: 'Tags', value: version.tags.join(', ') });
  }
  fields.push(
    { label: 'Source', value: version.sourcePath, monospace: true },
    { label: 'Stored at', value: version.path, monospace: true },
  );
  return fields;
}
