import { connect, connectRemote, type LabTarget } from '../client/connect';
import { checkToken, parseLabUrl, readCaFile, removeLogin, saveLogin } from '../client/credentials';
import type { BackendStatus } from '../protocol/api';
import { expectArgs, type Output } from './output';
import { readSecret } from './secret-input';
import { LOGIN_USAGE } from './usage';

function statusLines(s: BackendStatus): string[] {
  return [
    `started:  ${s.startedAt}`,
    `clients:  ${s.clients}`,
    `active project id: ${s.activeProjectId ?? '(none)'}`,
    ...(s.waitingRuns > 0 ? [`runs waiting for a project: ${s.waitingRuns}`] : []),
  ];
}

/** `mllab status`: which lab this talks to (a local home or a URL), as whom, and its state. */
export async function statusCommand(target: LabTarget, out: Output): Promise<number> {
  if (target.kind === 'local') {
    const { client } = await connect({ home: target.home });
    try {
      const s = await client.status();
      out.result({ ...s, lab: { kind: 'local', home: target.home, url: client.baseUrl } }, () =>
        [
          `ML Lab backend ${s.version} (process ${s.pid}) on ${client.baseUrl}`,
          `home:     ${s.home}`,
          `user:     owner (admin: the token of the lab home)`,
          ...statusLines(s),
        ].join('\n'),
      );
      return 0;
    } finally {
      client.dispose();
    }
  }
  const { lab } = target;
  const { client, status: s, me } = await connectRemote(lab);
  client.dispose();
  const from = lab.tokenFrom === 'MLLAB_TOKEN' ? 'MLLAB_URL and MLLAB_TOKEN' : 'the login of "mllab login"';
  out.result(
    {
      ...s,
      lab: { kind: 'remote', url: lab.url, user: me?.name ?? null, role: me?.role ?? null, tokenFrom: lab.tokenFrom },
    },
    () =>
      [
        `ML Lab ${s.version} at ${lab.url} (a lab served to a team, from ${from})`,
        `user:     ${me ? `${me.name} (${me.role})` : '(the lab does not say)'}`,
        `home:     ${s.home} (on the lab's machine)`,
        ...statusLines(s),
      ].join('\n'),
  );
  return 0;
}

/** `mllab login URL`: checks the lab and the token, then stores them for later commands. */
export async function loginCommand(
  out: Output,
  args: string[],
  flags: { token?: string; ca?: string },
): Promise<number> {
  expectArgs('login', args, 1, LOGIN_USAGE);
  const url = parseLabUrl(args[0]);
  const caFile = flags.ca ?? process.env.MLLAB_CA_FILE;
  const ca = caFile ? readCaFile(caFile, flags.ca ? 'The CA file (--ca)' : 'MLLAB_CA_FILE') : undefined;
  let given = flags.token;
  if (given === undefined) {
    given = await readSecret(`Token for ${url} (not shown): `);
    if (given.trim() === '') {
      throw new Error('No token given: type it when asked, pipe it in, or pass --token T.');
    }
  }
  const token = checkToken(given, flags.token === undefined ? 'The token' : 'The token of --token');
  // stored only once the lab has answered as an ML Lab that takes the token
  const { client, status, me } = await connectRemote({ url, token, tokenFrom: 'login', ...(ca ? { ca } : {}) });
  client.dispose();
  const file = saveLogin({
    url,
    token,
    ...(ca ? { ca } : {}),
    ...(me ? { user: me.name } : {}),
    savedAt: new Date().toISOString(),
  });
  out.result({ url, user: me?.name ?? null, role: me?.role ?? null, version: status.version, file }, () =>
    [
      `Logged in to ${url}${me ? ` as ${me.name} (${me.role})` : ''}: ML Lab ${status.version}.`,
      `The token is stored in ${file} (readable by you only). Commands use this lab until "mllab logout";`,
      'MLLAB_URL, MLLAB_HOME or --home DIR choose another for one command.',
    ].join('\n'),
  );
  return 0;
}

/** `mllab logout`: forgets the stored login (the token stays valid until an admin revokes it). */
export function logoutCommand(out: Output, args: string[]): number {
  expectArgs('logout', args, 0, LOGIN_USAGE);
  const removed = removeLogin();
  out.result({ loggedOut: removed !== undefined, url: removed?.url ?? null }, () =>
    removed
      ? `Logged out${removed.url ? ` of ${removed.url}` : ''}: ${removed.file} is deleted. The token itself stays valid until an admin revokes it ("mllab token revoke ID").`
      : 'Not logged in to any lab: nothing to forget.',
  );
  return 0;
}
