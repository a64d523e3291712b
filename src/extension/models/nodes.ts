import type { Model, ModelVersion } from '../../protocol/models';

/** A node of the Models view: a model, or one of its versions. Commands on models take these. */
export type ModelNode =
  | { readonly kind: 'model'; readonly model: Model }
  | { readonly kind: 'version'; readonly model: Model; readonly version: ModelVersion };

/** The version a node stands for: a version node's, or the newest of a model. */
export function versionOf(node: ModelNode): ModelVersion | undefined {
  return node.kind === 'version' ? node.version : node.model.versions[node.model.versions.length - 1];
}
