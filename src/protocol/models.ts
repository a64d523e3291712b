/**
 * Models: files produced by training, versioned in the lab home's content-addressed store, traced to
 * the experiment that made them, named by aliases ("production", "staging") and deployed as services.
 * DTOs of the /api/models routes and the payloads of their events.
 */

import type { MetricSummary } from './experiments';

/** The experiment a model version came from; what it recorded is read from the experiment itself. */
export interface ModelLineage {
  readonly experimentId: string;
  /** null when the experiment was deleted after the version was registered */
  readonly experimentName: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: readonly MetricSummary[];
  /** dataset versions the experiment recorded as input (version null = latest at the time) */
  readonly inputs: readonly { readonly dataset: string; readonly version: number | null }[];
}

export interface ModelVersion {
  readonly id: string;
  readonly modelId: string;
  readonly projectId: string;
  /** the model's name */
  readonly name: string;
  /** 1, 2, 3, ... per model; never reused */
  readonly version: number;
  readonly sha256: string;
  readonly size: number;
  /** file name of the stored content (the name it had when registered) */
  readonly fileName: string;
  /** where it was registered from (a file, or an experiment's artifact) */
  readonly sourcePath: string;
  /** how the model server loads it: `module:function` of a `predict(inputs)` entry point, or null = a pickle */
  readonly entryPoint: string | null;
  readonly experimentId: string | null;
  /** aliases that point at this version now */
  readonly aliases: readonly string[];
  readonly createdAt: string;
  readonly operator: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** local path of the stored, read-only content */
  readonly path: string;
}

/** A version with its lineage resolved from its experiment (GET /api/models/:name/versions/:version). */
export interface ModelVersionDetails extends ModelVersion {
  readonly lineage: ModelLineage | null;
  /** services deployed from this version */
  readonly services: readonly { readonly name: string; readonly status: string }[];
}

export interface Model {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly createdAt: string;
  /** alias -> version number */
  readonly aliases: Readonly<Record<string, number>>;
  /** ascending by version */
  readonly versions: readonly ModelVersion[];
}

/** POST /api/models: registers a file (an absolute path on the backend's machine) as the next version. */
export interface RegisterModelRequest {
  readonly name: string;
  /** the file; with `experimentId` it may be relative to the experiment's run directory (an artifact) */
  readonly path: string;
  readonly experimentId?: string;
  readonly entryPoint?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  /** project id or name; default: the active project (or the experiment's project) */
  readonly project?: string;
  readonly operator?: string;
}

/** PATCH /api/models/:name */
export interface UpdateModelRequest {
  readonly description?: string;
  readonly tags?: readonly string[];
}

/** PUT /api/models/:name/aliases/:alias: points the alias at a version (moving it from another one). */
export interface SetAliasRequest {
  readonly version: number;
}

/** POST /api/models/:name/deploy: builds the model-server image if needed and runs it as a service. */
export interface DeployModelRequest {
  /** a version number, an alias ("production"), or "latest" (default) */
  readonly version?: number | string;
  /** the image the model server is built from; it must have python3 (and scikit-learn for pickles) */
  readonly baseImage: string;
  /** host port on 127.0.0.1; default: a free one */
  readonly port?: number;
  /** service name; default `<model>-v<N>` */
  readonly serviceName?: string;
  /** overrides the version's entry point */
  readonly entryPoint?: string;
  /**
   * the target it runs on; on a Swarm target the model is put into an image pushed to the target's
   * registry, `port` is the lab's own endpoint on 127.0.0.1 (forwarding to healthy replicas), and a
   * deployment of an alias ("production") rolls to the version the alias is moved to
   */
  readonly target?: string;
  /** replicas on a Swarm target (default 1) */
  readonly replicas?: number;
  /** the port published on each node of a Swarm target (host mode; default 8080) */
  readonly nodePort?: number;
}

/** Names the model-server image gets from its base image and recipe (content hash). */
export const MODEL_SERVER_IMAGE = 'mllab-model-server';
/** The port the model server listens on inside its container. */
export const MODEL_SERVER_PORT = 8080;

/** "iris", "iris:v2", "iris:2", "iris@production" -> name and version selector. */
export function parseModelRef(ref: string): { name: string; version: number | string } {
  const at = ref.lastIndexOf('@');
  if (at > 0) {
    return { name: ref.slice(0, at), version: ref.slice(at + 1) };
  }
  const m = /^(.*):v?([1-9][0-9]*)$/.exec(ref);
  return m ? { name: m[1], version: Number(m[2]) } : { name: ref, version: 'latest' };
}

/*
 * Routes (bearer token; `project` = id or name, default the active project):
 *   GET    /api/models?project=P                              -> Model[]
 *   POST   /api/models                                         -> 201 ModelVersion (RegisterModelRequest)
 *   GET    /api/models/:name                                   -> Model
 *   PATCH  /api/models/:name                                   -> Model (UpdateModelRequest)
 *   GET    /api/models/:name/versions/:version                 -> ModelVersionDetails (number, alias or "latest")
 *   DELETE /api/models/:name/versions/:version?force=true      -> 204 (409 while a service uses it)
 *   PUT    /api/models/:name/aliases/:alias                    -> Model (SetAliasRequest)
 *   DELETE /api/models/:name/aliases/:alias                    -> Model
 *   POST   /api/models/:name/deploy                            -> 201 Service (DeployModelRequest)
 * Events: modelChanged { model }, modelDeleted { projectId, modelId, name }
 */
