import * as fs from 'fs';
import * as path from 'path';
import type { BuildImageRequest, ImageInfo } from '../../protocol/containers';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { RuntimeConnection } from './connection';
import { imageNotFound } from './errors';
import { checkImage } from './parse';

const PROGRESS_INTERVAL_MS = 100;

/**
 * Pulls and builds of images. A pull's progress (`imagePullProgress`) and a build's output
 * (`imageBuildOutput`) are published whoever asked for them; aborting the signal of a call (its
 * request was closed) stops it in the engine.
 */
export class Images {
  constructor(
    private readonly connection: RuntimeConnection,
    private readonly events: EventBus,
  ) {}

  /** Pulls an image and answers what is then present locally. */
  async pull(name: string, signal?: AbortSignal): Promise<ImageInfo> {
    const image = checkImage(name);
    this.connection.requireAvailable();
    let last = 0;
    await this.connection.runtime.pull(
      image,
      (p) => {
        // progress is throttled: a pull reports every few kilobytes of every layer
        if (Date.now() - last >= PROGRESS_INTERVAL_MS) {
          last = Date.now();
          this.events.publish({ type: 'imagePullProgress', progress: { image, ...p } });
        }
      },
      signal,
    );
    const info = await this.connection.runtime.image(image);
    if (!info) {
      throw imageNotFound(image);
    }
    return info;
  }

  /** Builds the Dockerfile of an absolute folder into `tag` and answers the image. */
  async build(request: BuildImageRequest, signal?: AbortSignal): Promise<ImageInfo> {
    const { context, tag } = request;
    const dockerfile = request.dockerfile ?? 'Dockerfile';
    checkImage(tag);
    if (!path.isAbsolute(context) || !fs.existsSync(path.join(context, dockerfile))) {
      throw new ApiError(
        400,
        'no_dockerfile',
        `There is no ${dockerfile} in "${context}": give the absolute folder that holds the Dockerfile.`,
      );
    }
    this.connection.requireAvailable();
    await this.runBuild(context, tag, dockerfile, signal);
    const info = await this.connection.runtime.image(tag);
    if (!info) {
      throw new ApiError(
        500,
        'build_lost',
        `The build of ${tag} ended but the image is not there: see the build output.`,
      );
    }
    return info;
  }

  /** Runs a build whose inputs the caller has checked, publishing each line of its output. */
  runBuild(context: string, tag: string, dockerfile: string, signal?: AbortSignal): Promise<void> {
    return this.connection.runtime.build(
      context,
      tag,
      dockerfile,
      (line) => this.events.publish({ type: 'imageBuildOutput', tag, line }),
      signal,
    );
  }
}
