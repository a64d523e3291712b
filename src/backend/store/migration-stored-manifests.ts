import type { RunManifest } from '../../protocol/experiments';
import { manifestColumns, storedManifest } from '../experiments/stored-run';
import type { WriteTx } from './database';

/**
 * The `manifest` column keeps only what the ingest needs without the run.json (see
 * stored-run.ts), and `params` and `tags` hold the manifest's own (the listing keeps them merged
 * with the logged ones): 1.7 KB per run became about 1.2 KB.
 */
export function storedManifestsMigration(tx: WriteTx): void {
  for (const row of tx.all('SELECT id, manifest FROM experiments')) {
    const manifest = JSON.parse(String(row.manifest)) as RunManifest;
    const { params, tags } = manifestColumns(manifest);
    tx.run('UPDATE experiments SET manifest = ?, params = ?, tags = ? WHERE id = ?', [
      storedManifest(manifest),
      params,
      tags,
      String(row.id),
    ]);
  }
}
