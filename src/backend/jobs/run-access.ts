import { X509Certificate } from 'crypto';
import { ApiError } from '../errors';
import type { ProjectRepository } from '../projects/repository';
import type { UserRepository } from '../users/repository';
import type { EngineRun } from './engine';
import type { RunAccess } from './run-lifecycle';
import type { LabAccess } from './engines/swarm';

/**
 * The lab user whose tokens jobs on other machines carry: a member of the lab, and an editor of
 * exactly the projects whose jobs ran elsewhere, so that a job's token records runs and reads
 * datasets in its own project and sees no other.
 */
export const JOB_USER = 'job-runs';

/** a run's token lives at most this long past its time limit (and is revoked at its end anyway) */
const SLACK_SECONDS = 3600;
/** the token of a run without a time limit */
const DEFAULT_SECONDS = 7 * 24 * 3600;

export interface RunAccessOptions {
  /** where the nodes reach the lab (https://HOST:PORT); null when the lab is not served to them */
  readonly url: string | null;
  /** the lab's TLS certificate (PEM), given to jobs when it is self-made */
  readonly certificate: Buffer | null;
  readonly users: UserRepository;
  readonly projects: ProjectRepository;
}

/**
 * Tokens for job runs on other machines: one per run, made when it starts (scope member, limited to
 * the job's project through the job user's membership, expiring after the run's time limit) and
 * revoked when the run ends.
 */
export class RunAccessTokens implements RunAccess {
  private readonly ca: string | null;
  private ensuring: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RunAccessOptions) {
    this.ca = options.certificate && selfMade(options.certificate) ? options.certificate.toString('utf8') : null;
  }

  async grant(run: EngineRun): Promise<LabAccess> {
    const url = this.options.url;
    if (!url) {
      throw new ApiError(
        400,
        'no_lab_url',
        'A job on another machine reaches the lab over the network, and this lab has no URL for it: serve the lab to the network (mllab serve --listen ADDRESS:PORT) with its URL as the nodes reach it (MLLAB_LAB_URL=https://HOST:PORT).',
      );
    }
    const { users } = this.options;
    // runs start at once: the user and its membership are made by one of them, the others wait
    const ensured = this.ensuring.then(() => this.ensureMember(run.job.projectId));
    this.ensuring = ensured.catch(() => undefined);
    await ensured;
    const limit = run.job.spec.timeoutSeconds;
    const created = await users.createToken({
      user: JOB_USER,
      label: `job ${run.job.spec.name} run ${run.runId}`,
      scope: 'member',
      expiresInSeconds: limit === null ? DEFAULT_SECONDS : Math.ceil(limit) + SLACK_SECONDS,
    });
    return { url, token: created.token, ca: this.ca };
  }

  /** The job user exists and is an editor of the project. */
  private async ensureMember(projectId: string): Promise<void> {
    const { users, projects } = this.options;
    const user = users.list().find((u) => u.name === JOB_USER) ?? (await users.add(JOB_USER, 'member'));
    const project = projects.get(projectId);
    if (users.members.roleOf(project.id, JOB_USER) === undefined) {
      await users.members.set(project, user, 'editor');
    }
  }

  /** Revokes the run's tokens, found by their label (also those made before a restart of the lab). */
  async revoke(runId: string): Promise<void> {
    const users = this.options.users;
    const tokens = users.listTokens().filter((t) => t.user === JOB_USER && t.revokedAt === null);
    for (const t of tokens.filter((x) => x.label.endsWith(` run ${runId}`))) {
      await users.revokeToken(t.id).catch(() => undefined);
    }
  }
}

/** A certificate that signed itself: no authority a node trusts vouches for it. */
function selfMade(pem: Buffer): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.issuer === cert.subject && cert.checkIssued(cert);
  } catch {
    return false;
  }
}
