/**
 * TLS material shared by every listener (config `tls`: one certificate for HTTP, MQTT and AMQP),
 * and a self-signed certificate for a lab (`sluice tls create-self-signed`, which runs the
 * openssl CLI: node:crypto can make keys but not X.509 certificates).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { promisify } from 'node:util';
import { SluiceError } from '../errors.ts';
import type { PathFunctions } from '../resources.ts';

/** PEM text or a path to a PEM file → the PEM text. */
export function readPem(value: string, what: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    throw new SluiceError('invalid-config', `Cannot read the TLS ${what} ${value}: ${(error as Error).message}`);
  }
}

/** Loaded TLS material, or undefined when no certificate and key are configured. */
export function loadTls(config: {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
}): { cert: string; key: string; ca?: string } | undefined {
  if (config.cert === undefined && config.key === undefined) return undefined;
  if (config.cert === undefined || config.key === undefined)
    throw new SluiceError('invalid-config', 'tls needs both cert and key');
  return {
    cert: readPem(config.cert, 'certificate'),
    key: readPem(config.key, 'key'),
    ...(config.ca !== undefined && { ca: readPem(config.ca, 'CA bundle') }),
  };
}

/**
 * The certificate and key files `createSelfSignedCertificate` writes into `dir`, as absolute
 * paths: a config that names them then works whatever folder the broker is started from.
 */
export function selfSignedFiles(
  dir: string,
  cwd: string = process.cwd(),
  path: PathFunctions = nodePath,
): { cert: string; key: string } {
  const folder = path.resolve(cwd, dir);
  return { cert: path.join(folder, 'cert.pem'), key: path.join(folder, 'key.pem') };
}

/** The config `tls` section naming those files, as JSON (a Windows path's backslashes escaped). */
export function tlsConfigSnippet(files: { readonly cert: string; readonly key: string }): string {
  return JSON.stringify({ tls: { cert: files.cert, key: files.key } });
}

/**
 * Writes `cert.pem` and `key.pem` (0600) into `dir`: a self-signed RSA 2048 certificate for
 * `hosts` (DNS names or IP addresses, the first is the subject CN), valid `days`.
 */
export async function createSelfSignedCertificate(
  dir: string,
  hosts: readonly string[],
  days = 825,
): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const { cert, key } = selfSignedFiles(dir);
  const names = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${hosts[0] ?? 'localhost'}/O=Sluice lab`,
      '-addext',
      `subjectAltName=${names}`,
    ]);
  } catch (error) {
    throw new SluiceError(
      'invalid-config',
      `openssl failed (is it installed?): ${(error as { stderr?: string }).stderr ?? (error as Error).message}`,
    );
  }
  chmodSync(key, 0o600);
  return { cert, key };
}
