import { LOCAL_TARGET } from '../../../protocol/targets';
import type { Logger } from '../../log';
import type { RuntimeConnection } from '../../runtime/connection';
import type { TargetRuntimes } from '../../targets/runtimes';
import type { EngineRun, JobEngine } from '../engine';
import type { RunAccessTokens } from '../run-access';
import { RemoteEngine } from './remote';
import { SwarmEngine } from './swarm';

/** Makes the job engine of a target by name: a Swarm cluster's, or a plain remote engine's. */
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
    const common = {
      home: deps.home,
      target: engine.target,
      docker: engine.docker,
      local: deps.local.runtime,
      localDocker: deps.targets.engine(LOCAL_TARGET).docker,
      access: (run: EngineRun) => deps.access.grant(run),
      log: deps.log,
    };
    return engine.target.kind === 'swarm'
      ? new SwarmEngine(common)
      : new RemoteEngine({ ...common, runtime: engine.runtime });
  };
}
