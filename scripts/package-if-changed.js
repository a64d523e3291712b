#!/usr/bin/env node
// `npm run demo` repackages only when something that goes into dist/mllab.vsix changed since the last
// package: a fingerprint (path, size, modification time) of every input is kept next to the package.
'use strict';
const { execSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const vsix = path.join(repo, 'dist', 'mllab.vsix');
const stamp = path.join(repo, 'dist', '.mllab.vsix.inputs');
const INPUTS = ['src', 'webviews', 'resources', 'python/mllab', 'media', 'bin'];
const FILES = [
  'package.json',
  'package-lock.json',
  'webpack.config.js',
  'tsconfig.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  '.vscodeignore',
];

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '__pycache__') {
        yield* walk(full);
      }
    } else {
      yield full;
    }
  }
}

function fingerprint() {
  const hash = crypto.createHash('sha256');
  const files = [
    ...INPUTS.flatMap((d) => (fs.existsSync(path.join(repo, d)) ? [...walk(path.join(repo, d))] : [])),
    ...FILES.map((f) => path.join(repo, f)).filter((f) => fs.existsSync(f)),
  ].sort();
  for (const file of files) {
    const s = fs.statSync(file);
    hash.update(`${path.relative(repo, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

const current = fingerprint();
if (fs.existsSync(vsix) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === current) {
  process.stdout.write('dist/mllab.vsix is up to date: not repackaging.\n');
} else {
  execSync('npm run package', { cwd: repo, stdio: 'inherit' });
  fs.writeFileSync(stamp, current);
}
