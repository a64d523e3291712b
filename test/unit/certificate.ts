import { execFileSync } from 'child_process';
import * as path from 'path';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with openssl in `dir` as `<name>.crt`
 * and `<name>.key`: a lab served over TLS in a test trusts it as its CA.
 */
export function makeCertificate(dir: string, name = 'lab'): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}
