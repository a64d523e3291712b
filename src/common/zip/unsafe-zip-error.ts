/** A zip that would write outside its destination, overwrite itself, or expand beyond the limits. */
export class UnsafeZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeZipError';
  }
}
