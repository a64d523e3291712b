import type { LabTarget } from '../client/connect';
import { localRunsDir } from '../client/runs/journal';
import { shipClient } from '../client/runs/shipper';
import { syncJournal } from '../client/runs/sync';
import type { Output } from './output';
import { SYNC_USAGE } from './usage';

/** How long `mllab sync` keeps trying an unreachable lab by default, and at most (seconds). */
const DEFAULT_TIMEOUT_S = 60;
const MAX_TIMEOUT_S = 86_400;

function timeoutOf(text: string | undefined): number {
  if (text === undefined) {
    return DEFAULT_TIMEOUT_S;
  }
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_TIMEOUT_S) {
    throw new Error(
      `--timeout takes seconds from 0 to ${MAX_TIMEOUT_S}, not "${text.slice(0, 40)}". Usage:\n${SYNC_USAGE}`,
    );
  }
  return seconds;
}

const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;

/**
 * `mllab sync [--timeout S]`: sends the runs of the local journal (MLLAB_LOCAL_RUNS, else
 * ~/.cache/mllab/runs) that the lab over the network does not hold all of yet, whichever client
 * recorded them. Exits 1 when some are left.
 */
export async function syncCommand(
  target: LabTarget,
  out: Output,
  args: readonly string[],
  timeout?: string,
): Promise<number> {
  if (args.length > 0) {
    throw new Error(`"mllab sync" takes no argument. Usage:\n${SYNC_USAGE}`);
  }
  const seconds = timeoutOf(timeout);
  if (target.kind === 'local') {
    throw new Error(
      'mllab sync sends the runs recorded for a lab over the network: set MLLAB_URL and MLLAB_TOKEN (and MLLAB_CA_FILE for a self-signed lab), or run "mllab login URL". A local lab home reads its runs itself.',
    );
  }
  const journal = localRunsDir();
  const client = shipClient(target.lab);
  try {
    const result = await syncJournal(client, journal, seconds, (line) => {
      if (!out.json) {
        process.stderr.write(`mllab: ${line}\n`);
      }
    });
    const { sent, left } = result;
    out.result({ journal, lab: client.baseUrl, sent, left }, () =>
      sent.length === 0 && left.length === 0
        ? `Nothing to send: the lab holds every run of ${journal}.`
        : `${runs(sent.length)} sent, ${left.length} left${left.length > 0 ? ` in ${journal}: run "mllab sync" again once the cause is fixed` : ''}.`,
    );
    return left.length > 0 ? 1 : 0;
  } finally {
    client.dispose();
  }
}
