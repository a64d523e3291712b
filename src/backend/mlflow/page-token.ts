import { invalid } from './errors';

/**
 * A page token: where the next page starts, with a digest of the query it belongs to (a token of
 * another query is refused rather than read as an offset of this one). Base64 of JSON, as MLflow's
 * own tokens are; opaque to clients.
 */
export function pageToken(offset: number, query: string): string {
  return Buffer.from(JSON.stringify({ offset, query: digest(query) })).toString('base64');
}

/** The offset a page token says (0 without one); a token that was not made by this search is refused. */
export function offsetOf(token: string | undefined, query: string): number {
  if (token === undefined || token === '') {
    return 0;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.slice(0, 1000), 'base64').toString('utf8'));
  } catch {
    throw invalid(
      'Invalid page token, could not base64-decode: pass the next_page_token of the previous answer as it is.',
    );
  }
  const p = parsed as { offset?: unknown; query?: unknown } | null;
  if (!p || !Number.isSafeInteger(p.offset) || (p.offset as number) < 0) {
    throw invalid(
      'Invalid page token, it does not name an offset: pass the next_page_token of the previous answer as it is.',
    );
  }
  if (p.query !== digest(query)) {
    throw invalid('The page token belongs to another search: repeat the same filter, order and experiments with it.');
  }
  return p.offset as number;
}

/** A short digest of a query's text (FNV-1a), to tell one search's tokens from another's. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}
