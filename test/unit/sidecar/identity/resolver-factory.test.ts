import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import { MtlsIdentityResolver } from '../../../../src/sidecar/identity/mtls.ts';
import { OutboundIdentityResolver } from '../../../../src/sidecar/identity/outbound.ts';
import { ProxyProtocolIdentityResolver } from '../../../../src/sidecar/identity/proxy-protocol/resolver.ts';
import { createPortIdentity, type PortIdentityContext } from '../../../../src/sidecar/identity/resolver-factory.ts';
import { SourceIdentityResolver } from '../../../../src/sidecar/identity/source.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { plainUpstreamConnector } from '../../../../src/sidecar/proxy/upstream.ts';
import { createPki, identityFiles, type TestPki } from '../../../helpers/pki.ts';
import { firstListener, testConfig } from '../../../helpers/sidecar-harness.ts';

const logger = createLogger({ level: 'silent' });
const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
const context = (config: PortIdentityContext['config']): PortIdentityContext => ({ config, logger, metrics });

let pki: TestPki;
let files: { ca: string; cert: string; key: string };
beforeAll(async () => {
  pki = await createPki();
  const ca = await pki.createCa('factory-ca');
  files = identityFiles(ca, await ca.issue('workload', { uris: ['spiffe://corp/ns/pay/sa/api'] }));
});
afterAll(() => pki.close());

describe('createPortIdentity', () => {
  it('builds the source resolver and a plain TCP upstream for mode source', async () => {
    const config = testConfig([{ name: 'api', upstream: '127.0.0.1:8080' }]);
    const identity = await createPortIdentity(firstListener(config), context(config));
    expect(identity.resolver).toBeInstanceOf(SourceIdentityResolver);
    expect(identity.connector).toBe(plainUpstreamConnector);
  });

  it('builds proxy-protocol and mtls with a plain upstream, outbound with its mTLS connector', async () => {
    const config = testConfig([
      { name: 'pp', upstream: '127.0.0.1:8080', identity: { mode: 'proxy-protocol', trusted_proxies: ['10.0.0.0/8'] } },
      { name: 'tls', upstream: '127.0.0.1:8080', identity: { mode: 'mtls', ...files } },
      { name: 'out', upstream: '127.0.0.1:8080', identity: { mode: 'outbound', ...files, expect: 'spiffe://corp/ns/billing/*' } },
    ]);
    const [pp, tls, out] = await Promise.all(config.ports.map((_, index) => createPortIdentity(firstListener(config, index), context(config))));
    expect(pp?.resolver).toBeInstanceOf(ProxyProtocolIdentityResolver);
    expect(pp?.connector).toBe(plainUpstreamConnector);
    expect(tls?.resolver).toBeInstanceOf(MtlsIdentityResolver);
    expect(tls?.connector).toBe(plainUpstreamConnector);
    expect(out?.resolver).toBeInstanceOf(OutboundIdentityResolver);
    expect(out?.connector.readyEvent).toBe('secureConnect');
    await Promise.all([pp, tls, out].map((identity) => identity?.resolver.close()));
  });

  it('refuses a TLS port whose files cannot be read, naming the key', async () => {
    const config = testConfig([
      { name: 'api', upstream: '127.0.0.1:8080' },
      { name: 'tls', upstream: '127.0.0.1:8080', identity: { mode: 'mtls', ...files, key: `${files.key}.absent` } },
    ]);
    await expect(createPortIdentity(firstListener(config, 1), context(config))).rejects.toMatchObject({
      code: 'config_unreadable',
      message: expect.stringContaining('ports[1].identity.key: cannot read file (ENOENT)'),
    });
  });
});
