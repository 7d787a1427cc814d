import { expect, it } from 'vitest';
import { authoritySchema } from '../../../src/shared/config/authority-schema.ts';
import { loadConfigFile, parseConfigText } from '../../../src/shared/config/load.ts';

it('config/authority.example.yaml is valid and shows exactly the defaults', async () => {
  const example = await loadConfigFile('config/authority.example.yaml', authoritySchema, {});
  expect(example).toEqual(parseConfigText('', '(defaults)', authoritySchema, {}));
});
