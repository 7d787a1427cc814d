// Preloaded with `node --import` by the module-graph test: writes every module URL the process
// loaded to the file $RECORD_MODULES when it exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_MODULES ?? 'modules.txt', [...loaded].join('\n')));
