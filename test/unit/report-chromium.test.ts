import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ToolMissingError } from '../../src/core/errors.ts';
import { findChromium } from '../../src/report/index.ts';
import { isExecutable } from '../../src/report/render-pdf.ts';

const only =
  (...files: string[]) =>
  (f: string): boolean =>
    files.includes(f);

describe('report: which Chromium renders the PDF', () => {
  it('should prefer the option, then EDGECHAOS_CHROMIUM, then /usr/bin/chromium', () => {
    const all = only('/opt/a/chrome', '/opt/b/chrome', '/usr/bin/chromium');
    const env = { EDGECHAOS_CHROMIUM: '/opt/b/chrome', PATH: '/usr/bin' };
    assert.equal(findChromium({ executablePath: '/opt/a/chrome', env, isExecutable: all }), '/opt/a/chrome');
    assert.equal(findChromium({ env, isExecutable: all }), '/opt/b/chrome');
    assert.equal(findChromium({ env: { PATH: '/usr/bin' }, isExecutable: all }), '/usr/bin/chromium');
  });

  it("should fall back to google-chrome on PATH (GitHub's Ubuntu runners), then chromium-browser", () => {
    const env = { PATH: '/usr/local/bin:/usr/bin' };
    assert.equal(
      findChromium({ env, isExecutable: only('/usr/bin/google-chrome', '/usr/local/bin/chromium-browser') }),
      '/usr/bin/google-chrome',
    );
    assert.equal(
      findChromium({ env, isExecutable: only('/usr/local/bin/chromium-browser') }),
      '/usr/local/bin/chromium-browser',
    );
  });

  it('should refuse a named browser that is not there instead of silently using another', () => {
    const isExecutable = only('/usr/bin/chromium');
    assert.throws(
      () => findChromium({ env: { EDGECHAOS_CHROMIUM: '/nope/chrome' }, isExecutable }),
      (e: unknown) =>
        e instanceof ToolMissingError &&
        e.file === '/nope/chrome' &&
        /\/nope\/chrome \(from EDGECHAOS_CHROMIUM\) is not an executable file/.test(e.message),
    );
    assert.throws(
      () => findChromium({ executablePath: '/x/y', env: {}, isExecutable }),
      /\/x\/y \(from the chromium path option\)/,
    );
  });

  it('should name every place it tried when no browser is found', () => {
    assert.throws(
      () => findChromium({ env: { PATH: '/a:/b' }, isExecutable: () => false }),
      (e: unknown) =>
        e instanceof ToolMissingError &&
        e.exitCode === 3 &&
        e.message.includes(
          'tried /usr/bin/chromium, then google-chrome, google-chrome-stable, chromium-browser, chromium on PATH (/a:/b)',
        ) &&
        e.message.includes('EDGECHAOS_CHROMIUM'),
    );
  });

  it('should find a real executable on PATH and skip a file without the execute bit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-chromium-'));
    try {
      const a = join(dir, 'a');
      const b = join(dir, 'b');
      mkdirSync(a);
      mkdirSync(b);
      writeFileSync(join(a, 'google-chrome'), '#!/bin/sh\n');
      chmodSync(join(a, 'google-chrome'), 0o644);
      writeFileSync(join(b, 'google-chrome'), '#!/bin/sh\n');
      chmodSync(join(b, 'google-chrome'), 0o755);
      // Only the PATH search is under test: /usr/bin/chromium is hidden.
      const found = findChromium({
        env: { PATH: `${a}:${b}` },
        isExecutable: (f) => f !== '/usr/bin/chromium' && isExecutable(f),
      });
      assert.equal(found, join(b, 'google-chrome'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
