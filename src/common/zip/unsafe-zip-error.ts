/** A zip that would write outside its destination, overwrite itself, or expand beyond the limits. */
export class UnsafeZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeZipError';
  }
}

/**
 * A zip whose structure breaks the format (APPNOTE.TXT) in a way that makes what it holds
 * ambiguous: refused, as yauzl and Info-ZIP's unzip refuse or warn about it.
 */
export class BadZipError extends UnsafeZipError {
  constructor(message: string) {
    super(message);
    this.name = 'BadZipError';
  }
}

/** An unpacking that would not fit on the disk it writes to. */
export class DiskSpaceError extends Error {
  readonly code = 'ENOSPC';

  constructor(message: string) {
    super(message);
    this.name = 'DiskSpaceError';
  }
}
