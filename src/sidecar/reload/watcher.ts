import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../shared/logger.ts';

export interface ConfigWatcherOptions {
  file: string;
  /** Called when the file's content changed; a rejection is logged, never thrown. */
  onChange: () => Promise<unknown>;
  logger: Logger;
  /** Quiet time after the last event before reloading; editors write in several steps. */
  debounceMs?: number;
}

/**
 * Watches a configuration file for changes. It watches the directory, not the file, because
 * editors save by writing a new file and renaming it over the old one (and Kubernetes swaps a
 * `..data` symlink), which leaves a watch on the old file's inode blind. Any event in the
 * directory re-reads the file after a quiet period, and `onChange` runs only when the content
 * differs from what was last seen.
 */
export class ConfigWatcher {
  readonly #file: string;
  readonly #onChange: () => Promise<unknown>;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: ConfigWatcherOptions) {
    this.#file = resolve(options.file);
    this.#onChange = options.onChange;
    this.#logger = options.logger.child({ component: 'config-watcher' });
    this.#debounceMs = options.debounceMs ?? 250;
  }

  /** Remembers the current content and starts watching. */
  async start(): Promise<void> {
    this.#lastText = await readText(this.#file);
    if (this.#closed) return;
    // every event in the directory leads to a content check: the changed entry may be the
    // file, a temporary file renamed over it, or a symlink it resolves through
    this.#watcher = watch(dirname(this.#file), { persistent: false }, () => this.#schedule());
    this.#watcher.on('error', (err) => this.#logger.warn({ err }, 'watching the configuration directory failed'));
  }

  /** Reloads now whatever the content (SIGHUP), after any reload in progress. */
  reloadNow(): Promise<void> {
    const run = (this.#running ?? Promise.resolve()).then(() => this.#check(true));
    this.#running = run;
    return run;
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // one check at a time; an event during a reload schedules another check after it
      this.#running = (this.#running ?? Promise.resolve()).then(() => this.#check());
    }, this.#debounceMs);
  }

  async #check(force = false): Promise<void> {
    if (this.#closed) return;
    const text = await readText(this.#file);
    // mid-rename (the loader reports a file that stays missing), or nothing changed
    if (!force && (text === undefined || text === this.#lastText)) return;
    this.#lastText = text;
    if (!force) this.#logger.info({ file: this.#file }, 'configuration file changed');
    try {
      await this.#onChange();
    } catch (err) {
      this.#logger.warn({ err }, 'reload after a file change failed');
    }
  }

  /** Stops watching; waits for a reload in progress. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
