import type { Store } from '../store/database';

/**
 * The tables whose rows point at blobs by sha256. A blob is garbage only when none of them refers
 * to it: every kind of record that stores content in the BlobStore must be listed here.
 */
const REFERRERS = ['dataset_versions', 'model_versions'] as const;

export function blobReferenced(store: Store, sha256: string): boolean {
  return REFERRERS.some((table) => store.get(`SELECT 1 AS used FROM ${table} WHERE sha256 = ? LIMIT 1`, [sha256]));
}

/** The projects whose records (dataset or model versions) refer to a blob. */
export function projectsReferring(store: Store, sha256: string): string[] {
  const rows = store.all(
    `SELECT d.project_id AS project FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.sha256 = ?
     UNION SELECT m.project_id AS project FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.sha256 = ?`,
    [sha256, sha256],
  );
  return rows.map((r) => String(r.project));
}
