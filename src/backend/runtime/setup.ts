import type { EventBus } from '../events';
import type { Logger } from '../log';
import { RuntimeConnection } from './connection';
import { DockerRuntime } from './docker';
import { LABELS } from './runtime';

/** The Docker connection of a lab home: its containers are the ones labelled with the home. */
export function containerRuntime(
  home: string,
  host: string | undefined,
  events: EventBus,
  log: Logger,
): RuntimeConnection {
  return new RuntimeConnection(new DockerRuntime({ host }), { [LABELS.home]: home }, log, (status) =>
    events.publish({ type: 'dockerStatus', status }),
  );
}
