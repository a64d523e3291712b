#!/usr/bin/env node
'use strict';
const fs = require('fs');
const path = require('path');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('mllab: dist/cli.js is missing: run "npm run build" in the ML Lab checkout first.\n');
  process.exit(1);
}
require(cli);
