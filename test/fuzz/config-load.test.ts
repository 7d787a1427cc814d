import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { authoritySchema } from '../../src/shared/config/authority-schema.ts';
import { parseConfigText } from '../../src/shared/config/load.ts';
import type { Frozen } from '../../src/shared/config/frozen.ts';
import { ConfigError, formatIssue } from '../../src/shared/config/config-error.ts';
import { assertSafe, safeSidecarSchema } from '../../src/sidecar/reload/safety.ts';
import { fc, fuzz, mutatedText } from '../helpers/fuzz.ts';
import { schemaKeys } from '../helpers/schema-keys.ts';

const file = 'fuzz.yaml';
const keyParts = [...new Set([...schemaKeys(safeSidecarSchema), ...schemaKeys(authoritySchema)].flatMap((key) => key.replaceAll('[]', '').split('.')))];

/** A YAML-ish value: scalars of every kind the schemas meet, and the YAML features that could hurt. */
const scalar = fc.oneof(
  fc.constantFrom('127.0.0.1:8443', '0.0.0.0:443', '[::1]:9901', 'host:99999', '30s', '0s', '-1s', '1e309', '0x1F', '.nan', '~', 'null', 'true', 'no', '""', "''", 'mtls', 'source', 'outbound', 'v2', 'drain', '10.0.0.0/8', 'spiffe://corp/*'),
  fc.integer({ min: -70_000, max: 70_000 }).map(String),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('&a x', '*a', '*b', '[*a, *a, *a, *a]', '!!binary aGk=', '!!str 1', '!custom x', '{a: 1, b: [2]}', '[', '{', '|', '>-', '"\\u0000"', '@x', '`x', '%TAG', '<<: *a'),
);

/** A line of a YAML-ish document: indentation, maybe a list dash, a key from the schemas (or not), a value. */
const line = fc
  .tuple(fc.nat({ max: 6 }), fc.boolean(), fc.oneof(fc.constantFrom(...keyParts), fc.string({ maxLength: 8 })), fc.oneof(fc.constant(''), scalar))
  .map(([indent, dash, key, value]) => `${' '.repeat(indent)}${dash ? '- ' : ''}${key}:${value === '' ? '' : ` ${value}`}`);
const yamlish = fc.oneof(
  fc.array(fc.oneof(line, fc.constantFrom('---', '...', '# a comment', '', '  - *a', '? complex', '&a [*a]')), { maxLength: 25 }).map((lines) => lines.join('\n')),
  // an alias bomb: each level refers to the one before many times
  fc.integer({ min: 2, max: 9 }).map((depth) => ['a0: &a0 [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: depth }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`)].join('\n')),
);

/** Loads `text`; a ConfigError is an answer, anything else thrown fails the property. */
function load<S extends z.ZodType>(text: string, schema: S, env: NodeJS.ProcessEnv = {}): Frozen<z.output<S>> | ConfigError {
  try {
    return parseConfigText(text, file, schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

/** Every issue names the file (or the variable) and a line inside the text, as `file:line: key: message`. */
function expectLocated(err: ConfigError, text: string): void {
  expect(err.issues.length).toBeGreaterThan(0);
  const lines = text.split('\n').length;
  for (const issue of err.issues) {
    if (issue.file.startsWith('env ')) expect(issue.line).toBe(0);
    else {
      expect(issue.file).toBe(file);
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.line).toBeLessThanOrEqual(lines + 1);
    }
    expect(issue.message).toMatch(/\S/);
    expect(formatIssue(issue)).toMatch(issue.file.startsWith('env ') ? /^env PORTWARDEN_\w+: .+/ : /^fuzz\.yaml:\d+: .+/);
  }
  expect(err.message).toBe(err.issues.map(formatIssue).join('\n'));
}

/** A sidecar port, safe or not: the safety rules are what the property is about. */
const port = fc.record({
  name: fc.constantFrom('api', 'grpc', 'admin', 'API', ''),
  listen: fc.oneof(fc.constantFrom('0.0.0.0:20001', '0.0.0.0:443', '127.0.0.1:6443', '0.0.0.0:0'), fc.array(fc.constantFrom('0.0.0.0:20001', '0.0.0.0:30001', '[::]:20002'), { minLength: 1, maxLength: 3 })),
  upstream: fc.constantFrom('127.0.0.1:8080', '[::1]:8080', '10.0.0.5:8080', '::ffff:127.0.0.1:80', 'db.internal:5432', '0.0.0.0:8080'),
  allow_remote_upstream: fc.option(fc.boolean(), { nil: undefined }),
  allow_reserved_listen: fc.option(fc.boolean(), { nil: undefined }),
  identity: fc.option(fc.constantFrom({ mode: 'source' }, { mode: 'proxy-protocol', trusted_proxies: ['10.0.0.0/8'] }, { mode: 'outbound', ca: 'ca.pem', cert: 'c.pem', key: 'k.pem', expect: 'spiffe://corp/x' }), { nil: undefined }),
});
const sidecarDocument = fc.record({ service: fc.constantFrom('payments', 'Payments', 'a'), ports: fc.array(port, { minLength: 1, maxLength: 3 }) }).map((doc) => stringify(doc));

describe('the configuration loader, fuzzed', () => {
  for (const [kind, schema] of [['sidecar', safeSidecarSchema], ['authority', authoritySchema]] as const) {
    it(`answers any YAML-ish ${kind} text with a configuration or a ConfigError listing file:line: key: message`, () => {
      fuzz(1_000, mutatedText(yamlish), (text) => {
        const result = load(text, schema as z.ZodType);
        if (result instanceof ConfigError) expectLocated(result, text);
      });
    });
  }

  it('never yields a sidecar configuration the safety rules refuse', () => {
    fuzz(1_000, mutatedText(sidecarDocument, fc.constantFrom('1', ':', ' ', '\n', '0.0.0.0', 'true', '#')), (text) => {
      const result = load(text, safeSidecarSchema);
      if (result instanceof ConfigError) expectLocated(result, text);
      else expect(() => assertSafe(result)).not.toThrow();
    });
  });

  it('names the variable of a bad environment override, and never throws on one', () => {
    const names = ['PORTWARDEN_ADMIN_LISTEN', 'PORTWARDEN_SHUTDOWN_TIMEOUT', 'PORTWARDEN_LOG_LEVEL', 'PORTWARDEN_AUTHORITY_REFRESH', 'PORTWARDEN_TELEMETRY_MAX_ENTRIES', 'PORTWARDEN_INVENTORY_ENABLED', 'PORTWARDEN_SERVICE'];
    fuzz(500, fc.dictionary(fc.constantFrom(...names), fc.oneof(scalar, fc.string({ maxLength: 20 })), { maxKeys: 4 }), (env) => {
      const text = 'service: payments\nports:\n  - name: api\n    listen: 0.0.0.0:20001\n    upstream: 127.0.0.1:8080\n';
      const result = load(text, safeSidecarSchema, env);
      if (result instanceof ConfigError) {
        expectLocated(result, text);
        for (const issue of result.issues) expect(Object.keys(env).map((name) => `env ${name}`)).toContain(issue.file);
      }
    });
  });
});
