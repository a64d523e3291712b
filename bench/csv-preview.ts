// CSV preview: the first rows of a 2 GB CSV (what the Datasets preview shows) and the background
// row count, side by side with coreutils (`head -n 201`, `wc -l`) on the same file.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { countCsvRecords } from '../src/common/csv/count';
import { readCsvHead } from '../src/common/csv/head';
import { median, report } from './stats';

const TARGET_BYTES = Number(process.env.MLLAB_BENCH_CSV_BYTES ?? 2 * 1024 ** 3);

/** A generated CSV of about TARGET_BYTES (cached between runs: writing 2 GB takes a while). */
function bigCsv(): string {
  const dir = path.join(os.tmpdir(), 'mllab-bench-data');
  const file = path.join(dir, `big-${TARGET_BYTES}.csv`);
  if (fs.existsSync(file) && fs.statSync(file).size >= TARGET_BYTES) {
    return file;
  }
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(`${file}.part`, 'w');
  fs.writeSync(fd, 'id,timestamp,sensor,temperature,vibration,label,comment\n');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let written = 0;
  let id = 0;
  while (written < TARGET_BYTES) {
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++, id++) {
      const t = (60 + random() * 20).toFixed(3);
      const v = random().toFixed(4);
      const note = random() < 0.05 ? '"check, then ""reset"""' : 'ok';
      lines.push(
        `${id},2026-01-01T00:00:${String(id % 60).padStart(2, '0')}Z,s${id % 97},${t},${v},${random() < 0.1 ? 'fault' : 'ok'},${note}`,
      );
    }
    const chunk = Buffer.from(lines.join('\n') + '\n');
    fs.writeSync(fd, chunk);
    written += chunk.length;
  }
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
  return file;
}

export async function csvPreviewBench(): Promise<void> {
  const file = bigCsv();
  const size = fs.statSync(file).size;
  const ours: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t0 = performance.now();
    const head = await readCsvHead(file, { maxRows: 200, fileName: 'big.csv' });
    ours.push(performance.now() - t0);
    if (head.rows.length !== 200) {
      throw new Error(`expected 200 rows, got ${head.rows.length}`);
    }
    t0 = performance.now();
    spawnSync('head', ['-n', '201', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    reference.push(performance.now() - t0);
  }
  const gb = (size / 1024 ** 3).toFixed(2);
  report(
    `first 200 rows of a ${gb} GiB CSV (median of 7)`,
    median(ours),
    median(reference),
    'ms',
    'head -n 201, a process',
  );

  let t0 = performance.now();
  const counted = await countCsvRecords(file, { delimiter: ',' });
  const countMs = performance.now() - t0;
  t0 = performance.now();
  const wc = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  const wcMs = performance.now() - t0;
  const lines = Number(wc.stdout.trim().split(/\s+/)[0]);
  if (counted.records !== lines) {
    throw new Error(`row count ${counted.records} differs from wc -l ${lines}`);
  }
  report(
    `background row count of the ${gb} GiB CSV, quote-aware`,
    countMs / 1000,
    wcMs / 1000,
    's',
    'wc -l, not quote-aware',
  );
}
