import type { Experiment } from '../../protocol/experiments';
import { toRow } from '../../protocol/experiment-list';
import type { WriteTx } from './database';

/** Rewrites each experiment's `listing` from the Experiment object to its row tuple. */
export function listingAsRowsMigration(tx: WriteTx): void {
  for (const row of tx.all('SELECT id, listing FROM experiments')) {
    const experiment = JSON.parse(String(row.listing)) as Experiment;
    tx.run('UPDATE experiments SET listing = ? WHERE id = ?', [JSON.stringify(toRow(experiment)), String(row.id)]);
  }
}
