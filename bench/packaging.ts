/**
 * Packaging and hashing benchmark: packFolder against Info-ZIP's `zip -r -6` on the same folder,
 * and sha256File against coreutils' `sha256sum` on the same file, side by side in one run.
 * Run alone with `node out/bench/packaging.js` (after `npx tsc -p tsconfig.test.json`).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { sha256File } from '../src/backend/files/hash';
import { packFolder } from '../src/common/zip/pack';
import { DATA_ROOT, folderBytes, hashingFile, packagingFolder } from './packaging-data';
import { report } from './stats';

const RUNS = 2;
const MB = 1e6;

function run(command: string, args: string[], cwd?: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.error}`);
  }
}

async function seconds(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function packaging(): Promise<void> {
  const folder = packagingFolder();
  const { files, bytes } = folderBytes(folder);
  const ourZip = path.join(DATA_ROOT, 'bench-ours.zip');
  const refZip = path.join(DATA_ROOT, 'bench-zip.zip');
  const ours: number[] = [];
  const deflateAll: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    fs.rmSync(ourZip, { force: true });
    deflateAll.push(
      await seconds(() => packFolder(folder, ourZip, { level: 6, probeIncompressible: false }).then(() => undefined)),
    );
    fs.rmSync(ourZip, { force: true });
    ours.push(await seconds(() => packFolder(folder, ourZip, { level: 6 }).then(() => undefined)));
    fs.rmSync(refZip, { force: true });
    ref.push(await seconds(() => run('zip', ['-r', '-6', '-q', refZip, '.'], folder)));
  }
  const label = `package ${files} files, ${(bytes / MB).toFixed(0)} MB, half compressible (best of ${RUNS})`;
  report(label, Math.min(...ours), Math.min(...ref), 's', 'zip -r -6');
  report(`${label}, deflating everything like zip`, Math.min(...deflateAll), Math.min(...ref), 's', 'zip -r -6');
  report(
    'zip size of the same folder',
    fs.statSync(ourZip).size / MB,
    fs.statSync(refZip).size / MB,
    'MB',
    'zip -r -6',
  );
  fs.rmSync(ourZip, { force: true });
  fs.rmSync(refZip, { force: true });
}

async function hashing(): Promise<void> {
  const file = hashingFile();
  const size = fs.statSync(file).size;
  const ours: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await seconds(() => sha256File(file).then(() => undefined)));
    ref.push(await seconds(() => run('sha256sum', [file])));
  }
  const label = `sha256 of a ${(size / MB).toFixed(0)} MB file, throughput, higher is better (best of ${RUNS})`;
  report(label, size / MB / Math.min(...ours), size / MB / Math.min(...ref), 'MB/s', 'sha256sum');
}

/** Both figures; the data (about 2 GB under the temp folder) is generated on the first run only. */
export async function packagingBench(): Promise<void> {
  await packaging();
  await hashing();
}

if (require.main === module) {
  packagingBench().catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}
