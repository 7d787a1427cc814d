import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import { createPortIdentity } from '../../../../src/sidecar/identity/resolver-factory.ts';
import { SourceIdentityResolver } from '../../../../src/sidecar/identity/source.ts';
import { plainUpstreamConnector } from '../../../../src/sidecar/upstream.ts';
import { testConfig } from '../../../helpers/sidecar-harness.ts';

const logger = createLogger({ level: 'silent' });

describe('createPortIdentity', () => {
  it('builds the source resolver and a plain TCP upstream for mode source', async () => {
    const config = testConfig([{ name: 'api', upstream: '127.0.0.1:8080' }]);
    const identity = await createPortIdentity(config.ports[0]!, { config, logger });
    expect(identity.resolver).toBeInstanceOf(SourceIdentityResolver);
    expect(identity.connector).toBe(plainUpstreamConnector);
  });

  it('refuses the modes not built yet with config_invalid', () => {
    const config = testConfig([
      { name: 'tls', upstream: '127.0.0.1:8080', identity: { mode: 'mtls', ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' } },
      { name: 'pp', upstream: '127.0.0.1:8080', identity: { mode: 'proxy-protocol', trusted_proxies: ['10.0.0.0/8'] } },
    ]);
    for (const port of config.ports) {
      expect(() => createPortIdentity(port, { config, logger })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    }
  });
});
