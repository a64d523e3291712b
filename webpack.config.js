// @ts-check
'use strict';
const fs = require('fs');
const path = require('path');
const webpack = require('webpack');
const CopyPlugin = require('copy-webpack-plugin');
const TerserPlugin = require('terser-webpack-plugin');
const { version } = require('./package.json');

const dist = path.resolve(__dirname, 'dist');
const tsRule = {
  test: /\.ts$/,
  exclude: /node_modules/,
  // ES modules for webpack: `await import()` then splits chunks instead of becoming a require
  use: [{ loader: 'ts-loader', options: { transpileOnly: true, compilerOptions: { module: 'es2022' } } }],
};
const esbuildMinifier = new TerserPlugin({
  minify: TerserPlugin.esbuildMinify,
  // a bug in a dependency's code that esbuild points out; not ours to fix
  terserOptions: { target: 'node20', legalComments: 'none', logOverride: { 'suspicious-boolean-not': 'silent' } },
});
const define = new webpack.DefinePlugin({ MLLAB_VERSION: JSON.stringify(version) });

/** @type {(mode: string, name: string) => webpack.Configuration} */
const nodeBundle = (mode, name) => ({
  mode,
  name,
  target: 'node20',
  devtool: mode === 'production' ? 'source-map' : 'eval-source-map',
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [tsRule] },
  node: { __dirname: false, __filename: false },
  // modules imported with `await import()` (the CLI's commands, the backend behind `mllab serve`) become
  // chunks loaded only when used, so a quick command starts fast
  output: {
    path: dist,
    filename: '[name].js',
    // next to the entry bundles, so that `__dirname` means dist/ in every module
    chunkFilename: `${name}-chunk.[name].js`,
    libraryTarget: 'commonjs2',
    clean: false,
  },
  // minified by esbuild: a smaller bundle parses faster at every start, in a fraction of terser's time
  optimization: { minimizer: [esbuildMinifier] },
  infrastructureLogging: { level: 'warn' },
  performance: { hints: false },
});

/** @type {(env: unknown, argv: { mode?: string }) => webpack.Configuration[]} */
module.exports = (_env, argv) => {
  const mode = argv.mode ?? 'production';
  const configs = [
    // the extension host side: UI only; `vscode` is provided by the host
    {
      ...nodeBundle(mode, 'extension'),
      entry: { extension: './src/extension/extension.ts' },
      externals: { vscode: 'commonjs vscode' },
      plugins: [define],
    },
    // the backend process, the CLI (which can run the backend in the foreground) and the Node client
    {
      ...nodeBundle(mode, 'backend'),
      // client.js: the Node client (`require('mllab')`), which can start a backend like the CLI
      entry: { backend: './src/backend/entry.ts', cli: './src/cli/entry.ts', client: './src/client/index.ts' },
      // sql.js's emscripten loader does not survive bundling: ship its two files next to the bundle
      externals: { 'sql.js': 'commonjs ./sql-wasm.js' },
      plugins: [
        define,
        // ssh2 (dockerode's ssh:// hosts) tries optional native speed-ups inside try/catch and falls
        // back to pure JavaScript: leave them out of the bundle
        new webpack.IgnorePlugin({ resourceRegExp: /^cpu-features$|sshcrypto\.node$/ }),
        new CopyPlugin({
          patterns: ['sql-wasm.js', 'sql-wasm.wasm'].map((f) => ({ from: `node_modules/sql.js/dist/${f}`, to: dist })),
        }),
      ],
    },
  ];
  // webviews: one bundle per webviews/<name>/index.ts, for the browser
  const webviews = fs.existsSync('webviews')
    ? fs.readdirSync('webviews').filter((d) => fs.existsSync(path.join('webviews', d, 'index.ts')))
    : [];
  if (webviews.length > 0) {
    configs.push({
      mode,
      name: 'webviews',
      target: 'web',
      devtool: mode === 'production' ? false : 'eval-source-map',
      entry: Object.fromEntries(webviews.map((d) => [d, `./webviews/${d}/index.ts`])),
      resolve: { extensions: ['.ts', '.js'] },
      module: { rules: [tsRule] },
      output: { path: path.join(dist, 'webviews'), filename: '[name].js' },
      plugins: [
        define,
        // stylesheets of browser libraries, loaded by the pages that use them (WebviewPageOptions.stylesheets)
        new CopyPlugin({
          patterns: [{ from: 'node_modules/uplot/dist/uPlot.min.css', to: path.join(dist, 'webviews', 'uplot.css') }],
        }),
      ],
    });
  }
  return configs;
};
