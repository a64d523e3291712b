import type { BackendStatus } from '../api';
import { route } from './route';

/** The backend itself: what it is and serves now, and stopping it. */
export const statusRoutes = {
  status: route<BackendStatus>()({ method: 'GET', path: '/api/status' }),
  /** answers at once (202); the backend stops right after */
  shutdown: route<{ readonly stopping: boolean }>()({ method: 'POST', path: '/api/shutdown', status: 202 }),
} as const;
