import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes `name` in the sweep's folder `work`: a trial script whose run is `exp` and whose params are
 * `p`; `body` (Python, its lines unindented) is indented into the `with` block.
 */
export function writeTrialScript(work: string, name: string, body: string): void {
  const lines = body
    .trim()
    .split('\n')
    .map((l) => `    ${l}`);
  const text = [
    'import os, sys, time',
    'import mllab',
    'with mllab.experiment() as exp:',
    '    p = exp.params',
    ...lines,
  ];
  fs.writeFileSync(path.join(work, name), text.join('\n') + '\n');
}
