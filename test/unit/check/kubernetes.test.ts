import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { kubernetesDefinitions } from '../../../src/check/kubernetes.ts';
import { brief, extractText } from './extract-helper.ts';

const fixture = () => readFile(new URL('../../fixtures/check/payments.k8s.yaml', import.meta.url), 'utf8');

describe('Kubernetes manifests', () => {
  it('finds containerPorts of containers and init containers, and Service port/targetPort/nodePort, each at its line', async () => {
    const out = extractText(kubernetesDefinitions, await fixture());
    expect(brief(out)).toEqual([
      '24 containerPort 20001/tcp payments',
      '26 containerPort 20010/tcp payments',
      '32 containerPort 8080/tcp payments',
      '44 port 20001/tcp payments',
      '46 nodePort 30080/tcp payments',
      '48 port 20001/tcp payments',
      '49 targetPort 8080/tcp payments',
    ]);
    expect(out.problems).toEqual([]);
  });

  it('says which numbers are register numbers and which bind on a node', async () => {
    const out = extractText(kubernetesDefinitions, await fixture());
    const traits = Object.fromEntries(out.definitions.map((d) => [d.field, { registered: d.registered, hostBound: d.hostBound }]));
    expect(traits).toEqual({
      containerPort: { registered: true, hostBound: false },
      port: { registered: true, hostBound: false },
      targetPort: { registered: false, hostBound: false },
      nodePort: { registered: false, hostBound: false },
    });
  });

  it('takes the service from --service, then the app.kubernetes.io/name label, then the name', () => {
    const text = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: ledger-db }
spec:
  template:
    metadata: { labels: { app.kubernetes.io/name: ledger } }
    spec:
      containers: [{ name: db, ports: [{ containerPort: 20100 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ledger-db }
spec: { ports: [{ port: 20100 }] }
`;
    expect(brief(extractText(kubernetesDefinitions, text))).toEqual(['8 containerPort 20100/tcp ledger', '13 port 20100/tcp ledger-db']);
    expect(brief(extractText(kubernetesDefinitions, text, 'ledger'))).toEqual(['8 containerPort 20100/tcp ledger', '13 port 20100/tcp ledger']);
  });

  it('reads CronJobs, DaemonSets with hostPort, hostNetwork pods and List items', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: { name: report }
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - name: job
                  ports:
                    - containerPort: 20200
                      protocol: UDP
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: { name: agent }
    spec:
      template:
        spec:
          containers:
            - name: agent
              ports:
                - containerPort: 20300
                  hostPort: 20300
  - apiVersion: v1
    kind: Pod
    metadata: { name: probe }
    spec:
      hostNetwork: true
      containers:
        - name: probe
          ports:
            - containerPort: 443
              hostPort: 443
`;
    const out = extractText(kubernetesDefinitions, text);
    expect(brief(out)).toEqual(['15 containerPort 20200/udp report', '26 containerPort 20300/tcp agent', '27 hostPort 20300/tcp agent', '36 containerPort 443/tcp probe']);
    expect(out.definitions.map((d) => d.hostBound)).toEqual([false, false, true, true]);
    expect(out.definitions.map((d) => d.space)).toEqual(['pod:in.yaml#0/items.0', 'pod:in.yaml#0/items.1', 'node', 'node']);
  });

  it('refuses a port entry that is not a number, and notes an SCTP port it does not check', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: odd }
spec:
  containers:
    - name: a
      ports:
        - containerPort: http
        - name: missing
        - containerPort: 20400
          protocol: SCTP
`;
    const out = extractText(kubernetesDefinitions, text);
    expect(out.definitions).toEqual([]);
    expect(out.problems).toEqual([
      { file: 'in.yaml', line: 8, message: 'containerPort "http" is not a port number (1-65535)' },
      { file: 'in.yaml', line: 9, message: 'containerPort is missing' },
    ]);
    expect(out.notes).toEqual([{ file: 'in.yaml', line: 11, message: 'protocol SCTP is not checked (tcp and udp only)' }]);
  });
});
