import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../../shared/logger.ts';

export interface TlsWatchOptions {
  files: readonly string[];
  /** Quiet time after the last event, so a cert and key written one after the other are read together. */
  debounceMs: number;
  logger: Logger;
  /** Called once things have been quiet for `debounceMs`; the caller compares contents. */
  onChange: () => void;
}

/**
 * Watches the directories holding TLS files, not the files: an atomic rename or a Kubernetes
 * secret's `..data` symlink swap replaces the directory entry, and a watch on the old inode
 * would see nothing. Any event in those directories counts, so the caller must treat unchanged
 * bytes as a no-op. A directory that cannot be watched is logged; SIGHUP still reloads.
 */
export function watchTlsFiles(options: TlsWatchOptions): { close(): void } {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const changed = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(options.onChange, options.debounceMs);
  };
  for (const dir of new Set(options.files.map((file) => dirname(resolve(file))))) {
    try {
      const watcher = watch(dir, { persistent: false }, changed);
      watcher.on('error', (err) => options.logger.warn({ err, dir }, 'cannot watch TLS files; SIGHUP still reloads them'));
      watchers.push(watcher);
    } catch (err) {
      options.logger.warn({ err, dir }, 'cannot watch TLS files; SIGHUP still reloads them');
    }
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.splice(0)) watcher.close();
    },
  };
}
