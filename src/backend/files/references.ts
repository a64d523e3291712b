import type { Store } from '../store/database';

/**
 * The tables whose rows point at blobs by sha256. A blob is garbage only when none of them refers
 * to it: every kind of record that stores content in the BlobStore must be listed here.
 */
const REFERRERS = ['dataset_versions', 'model_versions'] as const;

export function blobReferenced(store: Store, sha256: string): boolean {
  return REFERRERS.some((table) => store.get(`SELECT 1 AS used FROM ${table} WHERE sha256 = ? LIMIT 1`, [sha256]));
}
