import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ScenarioError, UsageError } from '../core/errors.ts';

/**
 * Stable pseudonyms for anonymised publishing: `sub-` + the first 10 hex digits of HMAC-SHA256(key,
 * name). The same key gives the same pseudonym in every tournament; without the key the names cannot
 * be recovered (the organisers keep it: a private file, mode 0600, outside the published directory).
 */
export function pseudonym(key: string, name: string): string {
  return `sub-${createHmac('sha256', key).update(name).digest('hex').slice(0, 10)}`;
}

/** Read the key file, creating it (32 random bytes, hex, mode 0600) when missing. */
export function loadOrCreateKey(file: string, publishedDir: string): string {
  const abs = resolve(file);
  const rel = relative(resolve(publishedDir), abs);
  if (!rel.startsWith('..') && rel !== abs)
    throw new UsageError(
      `the pseudonym key ${abs} must not be inside the published directory ${publishedDir}`,
    );
  if (!existsSync(abs)) {
    mkdirSync(dirname(abs), { recursive: true });
    const fd = openSync(abs, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
    } finally {
      closeSync(fd);
    }
  }
  const mode = statSync(abs).mode & 0o777;
  if (mode & 0o077)
    throw new ScenarioError(
      `the pseudonym key is readable by others (mode ${mode.toString(8)}): chmod 600 it`,
      {
        file: abs,
      },
    );
  const key = readFileSync(abs, 'utf8').trim();
  if (!/^[0-9a-f]{32,}$/.test(key))
    throw new ScenarioError('not a pseudonym key (hex, ≥ 16 bytes)', { file: abs });
  return key;
}
