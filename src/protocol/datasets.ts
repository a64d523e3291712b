/** Datasets: the contract between the backend and its clients (extension, CLI, Node and Python). */

/** One stored version of a dataset: a file, or a folder packaged into one zip. */
export interface DatasetVersion {
  readonly id: string;
  readonly datasetId: string;
  readonly projectId: string;
  /** the dataset's name */
  readonly name: string;
  /** 1, 2, 3, ... per dataset */
  readonly version: number;
  readonly sha256: string;
  /** bytes of the stored file (the zip for a package) */
  readonly size: number;
  /** e.g. text/csv, application/zip, application/graphml+xml */
  readonly mediaType: string;
  /** 'package' = a folder packaged into a zip */
  readonly kind: 'file' | 'package';
  /** files inside a package, null for a single file */
  readonly fileCount: number | null;
  /** bytes of the files inside a package before packaging, null for a single file */
  readonly unpackedSize: number | null;
  /** file name of the stored content: the original file name, or `<folder>.zip` */
  readonly fileName: string;
  /** where it was added from */
  readonly sourcePath: string;
  /** ISO 8601 */
  readonly createdAt: string;
  /** the person (OS user) who added it */
  readonly operator: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** local path of the stored, read-only content */
  readonly path: string;
}

export interface Dataset {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly createdAt: string;
  /** ascending by version */
  readonly versions: readonly DatasetVersion[];
}

/**
 * POST /api/datasets: adds a file or folder (an absolute path on the backend's machine) as the next
 * version of a dataset. Answers 201 with the DatasetVersion when done; closing the request, or
 * POST /api/operations/:operationId/cancel, cancels it and leaves nothing behind.
 */
export interface AddDatasetRequest {
  readonly path: string;
  /** default: the file or folder name */
  readonly name?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  /** project id or name; default: the active project */
  readonly project?: string;
  /** chosen by the client to match `operationProgress` events and to cancel */
  readonly operationId?: string;
  /** who adds it; default: the backend's OS user */
  readonly operator?: string;
}

export interface OperationProgress {
  readonly operationId: string;
  readonly phase: 'scanning' | 'packaging' | 'copying';
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

/**
 * Routes (all under the bearer token; `project` is an id or name, default the active project):
 *   GET    /api/datasets?project=P                          -> Dataset[]
 *   POST   /api/datasets                                     -> 201 DatasetVersion (AddDatasetRequest)
 *   GET    /api/datasets/:name/versions/:version?project=P   -> DatasetVersion (version: number | "latest")
 *   DELETE /api/datasets/:name/versions/:version?project=P   -> 204
 *   POST   /api/operations/:id/cancel                        -> 202
 */
