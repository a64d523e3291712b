import { route } from './route';

/** A blob sent in one upload at most (a dataset version's file or package). */
export const BLOB_MAX_BYTES = 1024 * 1024 * 1024 * 1024;
/** The hash of a blob in a path: 64 lowercase hex digits. */
export const SHA256_PATTERN = '^[0-9a-f]{64}$';

/** The id of an upload whose sha256 the sender learns while sending: 32 lowercase hex digits it chose at random. */
export const UPLOAD_ID_PATTERN = '^[0-9a-f]{32}$';

const blobParams = {
  type: 'object',
  required: ['sha256'],
  properties: { sha256: { type: 'string', maxLength: 64, pattern: SHA256_PATTERN } },
} as const;

/** A stored blob (the answer of the check route). */
export interface StoredBlob {
  readonly sha256: string;
  readonly size: number;
}

/**
 * Where an upload of a blob stands: stored whole, or `received` bytes of it kept in the lab's tmp/
 * (a partial upload goes on from there, also after the lab restarted; it is dropped after a day, and
 * when partial uploads grow past their bound).
 */
export interface BlobUploadState {
  readonly sha256: string;
  readonly stored: boolean;
  /** the bytes held: the size of the blob once stored, else the offset to send from */
  readonly received: number;
}

/** An upload's place in the blob: `offset` of this body's first byte, `size` of the whole blob. */
export interface BlobUploadQuery {
  readonly offset: string;
  readonly size: string;
}

/** Where an upload named by its id stands: `received` bytes held (the offset to send from). */
export interface IdUploadState {
  readonly id: string;
  readonly received: number;
}

/** The end of an upload named by its id: the sha256 and size the sender computed while sending. */
export interface FinishUploadRequest {
  readonly sha256: string;
  readonly size: number;
}

const uploadParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 32, pattern: UPLOAD_ID_PATTERN } },
} as const;

const offsetQuery = {
  type: 'object',
  required: ['offset', 'size'],
  additionalProperties: false,
  properties: {
    offset: { type: 'string', pattern: '^[0-9]{1,15}$' },
    size: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
} as const;

/**
 * Blobs (content by sha256) sent to a lab over the network, for a dataset version made from them
 * with `POST /api/datasets/uploaded`. A sender asks first (`GET`/`HEAD /api/blobs/:sha256`: nothing
 * is sent for content the lab holds), then sends the bytes with `PUT` from the offset the lab holds
 * (`GET .../upload`), in one body or several. When the last byte arrives the whole is checked against
 * its sha256 and stored, or refused with nothing kept. New content can be sent without its hash
 * known first (`putUpload`, then `finishUpload`).
 *
 * The lab answers "held" only for content the caller may read (in a project it can read, or sent by
 * it): for other content it answers as if it did not hold it, takes the bytes, and stores them once.
 */
export const blobRoutes = {
  /** 200 when the lab holds the blob, else 404 (HEAD answers the same, without a body) */
  check: route<StoredBlob>()({ method: 'GET', path: '/api/blobs/:sha256', params: blobParams }),
  /** how much of an upload the lab holds */
  uploadState: route<BlobUploadState>()({ method: 'GET', path: '/api/blobs/:sha256/upload', params: blobParams }),
  /**
   * bytes `offset`.. of the blob (`application/octet-stream`); an offset other than the bytes held
   * is a 409 carrying the state; a blob already stored is answered without reading the body
   */
  put: route<BlobUploadState, Uint8Array, BlobUploadQuery>()({
    method: 'PUT',
    path: '/api/blobs/:sha256',
    params: blobParams,
    query: offsetQuery,
  }),
  /**
   * bytes `offset`.. of new content whose sha256 the sender computes while it sends them (hashing a
   * big file first would cost as much as sending it): named by an id the sender chose, resumable
   * like a `put`; the lab hashes them too, and `finishUpload` compares
   */
  putUpload: route<IdUploadState, Uint8Array, BlobUploadQuery>()({
    method: 'PUT',
    path: '/api/blobs/uploads/:id',
    params: uploadParams,
    query: offsetQuery,
  }),
  /** how much of an upload named by its id the lab holds */
  idUploadState: route<IdUploadState>()({ method: 'GET', path: '/api/blobs/uploads/:id', params: uploadParams }),
  /**
   * the last step of an upload named by its id: the whole must have the sha256 and size given, then
   * it is stored (content the lab held already is not stored twice), else refused with nothing kept
   */
  finishUpload: route<BlobUploadState, FinishUploadRequest>()({
    method: 'POST',
    path: '/api/blobs/uploads/:id/finish',
    params: uploadParams,
    body: {
      type: 'object',
      required: ['sha256', 'size'],
      additionalProperties: false,
      properties: {
        sha256: { type: 'string', maxLength: 64, pattern: SHA256_PATTERN },
        size: { type: 'integer', minimum: 0, maximum: BLOB_MAX_BYTES },
      },
    },
  }),
} as const;
