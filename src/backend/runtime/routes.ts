import type { FastifyInstance } from 'fastify';
import { runtimeRoutes as routes } from '../../protocol/routes/runtime';
import { ApiError } from '../errors';
import type { RuntimeConnection } from './connection';
import type { Images } from './images';
import { checkImage } from './parse';
import { requestClosedSignal } from './request-signal';
import { register } from '../http/register';

/** Whether Docker answers (with the Retry action of the views), and images: inspect, pull, build. */
export function registerDockerRoutes(app: FastifyInstance, connection: RuntimeConnection, images: Images): void {
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

  register(app, routes.pull, async (request, reply) => images.pull(request.body.image, requestClosedSignal(reply)));

  register(app, routes.build, async (request, reply) => images.build(request.body, requestClosedSignal(reply)));
}
