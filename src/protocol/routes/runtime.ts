import type { BuildImageRequest, DockerStatus, ImageInfo, OrphanContainer } from '../containers';
import { route } from './route';
import { pathText, text } from './schema';

const imageBody = {
  type: 'object',
  required: ['image'],
  additionalProperties: false,
  properties: { image: text(255, 1) },
} as const;

/** Whether Docker answers (with the Retry action of the views), images, and containers left behind. */
export const runtimeRoutes = {
  docker: route<DockerStatus>()({ method: 'GET', path: '/api/docker' }),
  retryDocker: route<DockerStatus>()({ method: 'POST', path: '/api/docker/retry' }),
  image: route<ImageInfo, undefined, { readonly image: string }>()({
    method: 'GET',
    path: '/api/images',
    query: imageBody,
  }),
  /** the images present locally that have a tag, largest first (nothing is pulled) */
  localImages: route<ImageInfo[]>()({ method: 'GET', path: '/api/images/local' }),
  pull: route<ImageInfo, { readonly image: string }>()({ method: 'POST', path: '/api/images/pull', body: imageBody }),
  build: route<ImageInfo, BuildImageRequest>()({
    method: 'POST',
    path: '/api/images/build',
    body: {
      type: 'object',
      required: ['context', 'tag'],
      additionalProperties: false,
      properties: { context: pathText, dockerfile: pathText, tag: text(255, 1) },
    },
  }),
  orphans: route<OrphanContainer[]>()({ method: 'GET', path: '/api/containers/orphans' }),
  removeOrphans: route<{ removed: number }>()({ method: 'DELETE', path: '/api/containers/orphans' }),
} as const;
