import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import { ConfigWatcher } from '../../../../src/sidecar/reload/watcher.ts';
import { tempDir } from '../../../helpers/tmp.ts';
import { waitFor } from '../../../helpers/wait.ts';

describe('ConfigWatcher', () => {
  it('reloads once per real change, including a rename over the file, and not for rewrites of the same content', async () => {
    const dir = await tempDir();
    const file = join(dir, 'sidecar.yaml');
    await writeFile(file, 'a: 1\n');
    let reloads = 0;
    const watcher = new ConfigWatcher({ file, onChange: async () => void reloads++, logger: createLogger({ level: 'silent' }), debounceMs: 30 });
    onTestFinished(() => watcher.close());
    await watcher.start();

    await writeFile(`${file}.tmp`, 'a: 2\n');
    await rename(`${file}.tmp`, file);
    await waitFor(() => reloads === 1, { what: 'a reload after the rename' });

    await writeFile(file, 'a: 2\n'); // same bytes: nothing to do
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    await writeFile(file, 'a: 3\n');
    await waitFor(() => reloads === 2, { what: 'a reload after the write' });

    await watcher.reloadNow(); // SIGHUP reloads whatever the content
    expect(reloads).toBe(3);
    await watcher.close();
    await watcher.close();
  });
});
