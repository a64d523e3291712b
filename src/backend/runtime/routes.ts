import * as fs from 'fs';
import * as path from 'path';
import type { FastifyInstance } from 'fastify';
import { runtimeRoutes as routes } from '../../protocol/routes/runtime';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { RuntimeConnection } from './connection';
import { imageNotFound } from './errors';
import { checkImage } from './parse';
import { requestClosedSignal } from './request-signal';
import { register } from '../http/register';

const PROGRESS_INTERVAL_MS = 100;

/** Whether Docker answers (with the Retry action of the views), and images: inspect, pull, build. */
export function registerDockerRoutes(app: FastifyInstance, connection: RuntimeConnection, events: EventBus): void {
  const runtime = connection.runtime;
  register(app, routes.docker, async () => connection.status);
  register(app, routes.retryDocker, async () => connection.retry());

  register(app, routes.image, async (request) => {
    // the input is checked first: a wrong name is the same mistake with or without Docker
    const image = checkImage(request.query.image);
    connection.requireAvailable();
    const info = await runtime.image(image);
    if (!info) {
      throw new ApiError(404, 'image_missing', `The image "${request.query.image}" is not present locally.`);
    }
    return info;
  });

  // the local images, to choose one for a job or a service (nothing is pulled)
  register(app, routes.localImages, async () => {
    connection.requireAvailable();
    return runtime.images();
  });

  register(app, routes.pull, async (request, reply) => {
    const image = checkImage(request.body.image);
    connection.requireAvailable();
    let last = 0;
    await runtime.pull(
      image,
      (p) => {
        // progress is throttled: a pull reports every few kilobytes of every layer
        if (Date.now() - last >= PROGRESS_INTERVAL_MS) {
          last = Date.now();
          events.publish({ type: 'imagePullProgress', progress: { image, ...p } });
        }
      },
      requestClosedSignal(reply),
    );
    const info = await runtime.image(image);
    if (!info) {
      throw imageNotFound(image);
    }
    return info;
  });

  register(app, routes.build, async (request, reply) => {
    const { context, tag } = request.body;
    const dockerfile = request.body.dockerfile ?? 'Dockerfile';
    checkImage(tag);
    if (!path.isAbsolute(context) || !fs.existsSync(path.join(context, dockerfile))) {
      throw new ApiError(
        400,
        'no_dockerfile',
        `There is no ${dockerfile} in "${context}": give the absolute folder that holds the Dockerfile.`,
      );
    }
    connection.requireAvailable();
    await runtime.build(
      context,
      tag,
      dockerfile,
      (line) => events.publish({ type: 'imageBuildOutput', tag, line }),
      requestClosedSignal(reply),
    );
    const info = await runtime.image(tag);
    if (!info) {
      throw new ApiError(
        500,
        'build_lost',
        `The build of ${tag} ended but the image is not there: see the build output.`,
      );
    }
    return info;
  });
}
