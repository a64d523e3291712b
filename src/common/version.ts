// Replaced by webpack's DefinePlugin with package.json's version; the fallback serves compiled tests.
declare const MLLAB_VERSION: string | undefined;

export const VERSION: string =
  typeof MLLAB_VERSION === 'string' ? MLLAB_VERSION : (require('../../../package.json') as { version: string }).version;
