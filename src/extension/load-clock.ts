import { performance } from 'perf_hooks';

/** When the extension bundle started to evaluate; imported first by extension.ts to time its own load. */
export const loadStart = performance.now();
