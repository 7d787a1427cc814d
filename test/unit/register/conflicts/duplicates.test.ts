import { describe, expect, it } from 'vitest';
import { composeDefinitions } from '../../../../src/check/compose.ts';
import { duplicateFindings } from '../../../../src/register/conflicts/duplicates.ts';
import { kubernetesDefinitions } from '../../../../src/check/kubernetes.ts';
import { extractText } from '../../check/extract-helper.ts';

const messages = (text: string, extractor = composeDefinitions) => duplicateFindings(extractText(extractor, text).definitions).map((f) => `${f.line}: ${f.message}`);

describe('collisions between the inputs', () => {
  it('lets one compose service forward several host ports to one container port', () => {
    expect(messages('services:\n  web:\n    ports: ["20080:20080", "20081:20080"]\n')).toEqual([]);
  });

  it('reports one host port published twice, unless the addresses differ', () => {
    expect(messages('services:\n  web:\n    ports: ["20080:20080", "20080:20081"]\n')).toEqual(['3: published port 20080/tcp is already bound in the same host at in.yaml:3']);
    expect(messages('services:\n  web:\n    ports: ["127.0.0.1:20080:20080", "127.0.0.2:20080:20081"]\n')).toEqual([]);
    expect(messages('services:\n  web:\n    ports: ["127.0.0.1:20080:20080", "20080:20081"]\n')).toEqual(['3: published port 20080/tcp is already bound in the same host at in.yaml:3']);
  });

  it('reports two services on one number wherever they bind it, once per later definition', () => {
    const text = 'services:\n  a:\n    expose: ["20001"]\n  b:\n    expose: ["20001"]\n  c:\n    ports: ["20001:20001"]\n';
    expect(messages(text)).toEqual([
      '5: exposed port 20001/tcp is also used by a at in.yaml:3',
      '7: published port 20001/tcp is also used by a at in.yaml:3',
      '7: container port 20001/tcp is also used by a at in.yaml:3',
    ]);
  });

  it('reports two containers of one pod on one port, but not the same port over tcp and udp', () => {
    const pod = (second: string) => `apiVersion: v1
kind: Pod
metadata: { name: dns }
spec:
  containers:
    - { name: a, ports: [{ containerPort: 20053 }] }
    - { name: b, ports: [${second}] }
`;
    expect(messages(pod('{ containerPort: 20053 }'), kubernetesDefinitions)).toEqual(['7: containerPort 20053/tcp is already bound in the same pod at in.yaml:6']);
    expect(messages(pod('{ containerPort: 20053, protocol: UDP }'), kubernetesDefinitions)).toEqual([]);
  });

  it('reports two Services on one nodePort, which is cluster-wide', () => {
    const svc = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { type: NodePort, ports: [{ port: ${name === 'a' ? 20001 : 20002}, nodePort: 30080 }] }
`;
    expect(messages(`${svc('a')}---\n${svc('b')}`, kubernetesDefinitions)).toEqual(["9: nodePort 30080/tcp is already bound in the cluster's node ports at in.yaml:4"]);
  });
});
