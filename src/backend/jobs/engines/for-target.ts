import { LOCAL_TARGET } from '../../../protocol/targets';
import type { Logger } from '../../log';
import type { RuntimeConnection } from '../../runtime/connection';
import { RuntimeError } from '../../runtime/errors';
import type { TargetRuntimes } from '../../targets/runtimes';
import type { JobEngine } from '../engine';
import type { RunAccessTokens } from '../run-access';
import { SwarmEngine } from './swarm';

/** Makes the job engine of a target by name: a Swarm cluster's; a plain remote engine says it cannot yet. */
export function jobEngineForTarget(deps: {
  readonly home: string;
  readonly targets: TargetRuntimes;
  /** the lab machine's engine (it holds and pushes the jobs' images) */
  readonly local: RuntimeConnection;
  readonly access: RunAccessTokens;
  readonly log: Logger;
}): (name: string) => JobEngine {
  return (name) => {
    const engine = deps.targets.engine(name);
    if (engine.target.kind !== 'swarm') {
      throw new RuntimeError(
        400,
        'target_kind',
        `Jobs run on the lab machine or on a Swarm cluster; "${name}" is a single Docker Engine: run the job on "local" or on a swarm target (its target field).`,
      );
    }
    return new SwarmEngine({
      home: deps.home,
      target: engine.target,
      docker: engine.docker,
      local: deps.local.runtime,
      localDocker: deps.targets.engine(LOCAL_TARGET).docker,
      access: (run) => deps.access.grant(run),
      log: deps.log,
    });
  };
}
