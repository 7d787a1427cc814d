import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { namespacePolicy } from '../../src/authority/admission/subject.ts';
import { hasPorts } from '../../src/register/conflicts/kubernetes-ports.ts';
import { authoritySchema } from '../../src/shared/config/authority-schema.ts';
import { parseConfigText } from '../../src/shared/config/load.ts';
import { safeSidecarSchema } from '../../src/sidecar/reload/safety.ts';
import { startTestAuthority, testAdminToken } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { kubernetesVersion, manifestDocuments, schemaProblems } from './kubernetes-schema.ts';

/**
 * The Kubernetes manifests in deploy/kubernetes: read as the API server would (every
 * document of every file), validated against the Kubernetes OpenAPI schema with unknown fields
 * refused, their embedded configurations validated by the loaders the commands use, and the
 * places where one object must agree with another (mount paths and config keys, probe ports
 * and listen addresses, grace periods and shutdown timeouts, resources and the bench's
 * figures) checked against each other.
 */

const dir = 'deploy/kubernetes';
const run = promisify(execFile);
// every manifest, in subdirectories too, so a file added later is read and validated as well
const files = (await readdir(dir, { recursive: true })).filter((file) => /\.ya?ml$/.test(file)).sort();
const docsDeploy = await readFile('docs/deploy.md', 'utf8');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Every document of every file, as written. */
const documents: { file: string; object: Obj }[] = [];
for (const file of files) {
  try {
    for (const object of manifestDocuments(await readFile(join(dir, file), 'utf8'))) documents.push({ file, object });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}
const objects: (Obj & { file: string })[] = documents.map(({ file, object }) => ({ ...object, file }));

/** Kinds that live outside any namespace. */
const clusterScoped = new Set(['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ClusterRole', 'ClusterRoleBinding', 'ClusterIssuer', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'PersistentVolume']);

function find(kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${dir}`);
  return found;
}

function configMapEntry(namespace: string, name: string, key: string): string {
  const map = find('ConfigMap', name);
  expect(map.metadata.namespace).toBe(namespace);
  const text = map.data?.[key];
  if (typeof text !== 'string') throw new Error(`ConfigMap ${name} has no key ${key}`);
  return text;
}

/** The volume mounted at the deepest mountPath that holds `path`, with the volume's source. */
function mountOf(container: Obj, pod: Obj, path: string): { mountPath: string; volume: Obj } | undefined {
  const mounts = ((container.volumeMounts ?? []) as Obj[]).filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) return undefined;
  const volume = ((pod.volumes ?? []) as Obj[]).find((v) => v.name === mount.name);
  return volume ? { mountPath: mount.mountPath, volume } : undefined;
}

function containerPort(container: Obj, name: string | number): number | undefined {
  if (typeof name === 'number') return name;
  return ((container.ports ?? []) as Obj[]).find((p) => p.name === name)?.containerPort;
}

function probe(container: Obj, kind: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): { path: string; port: number | undefined } {
  const get = container[kind]?.httpGet;
  return { path: get?.path, port: get ? containerPort(container, get.port) : undefined };
}

/** The config file a container is started with (`--config F`), read from the ConfigMap mounted there. */
function configOf(container: Obj, pod: Obj, namespace: string): { file: string; text: string } {
  const args = container.args as string[];
  const file = args[args.indexOf('--config') + 1] ?? '';
  const mount = mountOf(container, pod, file);
  expect(mount?.volume.configMap, `${file} is mounted from a ConfigMap`).toBeDefined();
  // a directory mount, not subPath: ConfigMap edits reach the pod and the file watcher
  expect(dirname(file)).toBe(mount?.mountPath);
  return { file, text: configMapEntry(namespace, mount?.volume.configMap.name, basename(file)) };
}

function expectRestricted(pod: Obj, container: Obj): void {
  const sc = { ...pod.securityContext, ...container.securityContext };
  expect(sc.runAsNonRoot, `${container.name}: runAsNonRoot`).toBe(true);
  // the image's user, numeric so the kubelet can check runAsNonRoot without reading the image
  expect(sc.runAsUser, `${container.name}: runAsUser`).toBe(1000);
  expect(sc.seccompProfile?.type, `${container.name}: seccompProfile`).toBe('RuntimeDefault');
  expect(container.securityContext?.allowPrivilegeEscalation, `${container.name}: allowPrivilegeEscalation`).toBe(false);
  expect(container.securityContext?.capabilities?.drop, `${container.name}: capabilities`).toEqual(['ALL']);
  expect(container.securityContext?.readOnlyRootFilesystem, `${container.name}: readOnlyRootFilesystem`).toBe(true);
  expect(container.securityContext?.privileged ?? false).toBe(false);
}

/** The hardening a portwarden container carries in its own securityContext, so the container can be copied into another pod as it is. */
const hardened = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function seconds(ms: number): number {
  return ms / 1000;
}

describe('Kubernetes manifests', () => {
  it('are well-formed objects with names Kubernetes accepts', () => {
    expect(files).toEqual(expect.arrayContaining(['authority.yaml', 'payments.yaml', 'monitoring.yaml', 'webhook.yaml', 'webhook-certificates.yaml']));
    for (const o of objects) {
      expect(typeof o.apiVersion, `${o.file}: apiVersion`).toBe('string');
      expect(typeof o.kind, `${o.file}: kind`).toBe('string');
      expect(o.metadata?.name, `${o.file}: ${o.kind} name`).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
      if (!clusterScoped.has(o.kind)) expect(o.metadata?.namespace, `${o.file}: ${o.kind} ${o.metadata.name} namespace`).toMatch(/^[a-z0-9-]+$/);
      const pod = o.spec?.template?.spec as Obj | undefined;
      for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])] as Obj[]) {
        // port names are IANA service names: at most 15 characters
        for (const p of (c.ports ?? []) as Obj[]) expect(p.name, `${c.name} port name`).toMatch(/^[a-z0-9-]{1,15}$/);
      }
    }
  });

  describe('the authority', () => {
    const deployment = find('Deployment', 'portwarden-authority');
    const pod = deployment.spec.template.spec as Obj;
    const container = (pod.containers as Obj[])[0] as Obj;
    const { file, text } = configOf(container, pod, 'portwarden');
    const config = parseConfigText(text, `ConfigMap portwarden-authority ${basename(file)}`, authoritySchema, {});

    it('embeds an authority configuration the loader accepts, listening on the pod address', () => {
      expect(config.listen).toEqual({ host: '0.0.0.0', port: containerPort(container, 'api') });
    });

    it('runs one replica, replaced (not rolled) so two never share the SQLite volume', () => {
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy?.type).toBe('Recreate');
      const data = mountOf(container, pod, config.data_dir);
      const claim = data?.volume.persistentVolumeClaim?.claimName;
      expect(claim, `data_dir ${config.data_dir} is on a PersistentVolumeClaim`).toBeDefined();
      expect(find('PersistentVolumeClaim', claim).spec.accessModes).toEqual(['ReadWriteOnce']);
    });

    it('takes the admin token from a Secret, whose placeholder the authority refuses', async () => {
      const ref = (container.env as Obj[]).find((e) => e.name === 'PORTWARDEN_ADMIN_TOKEN')?.valueFrom?.secretKeyRef;
      const secret = find('Secret', ref?.name);
      const placeholder = secret.stringData?.[ref?.key] as string;
      expect(placeholder).toBeDefined();
      // applied unchanged, it must not run with a token anyone can read here
      const data = await mkdtemp(join(tmpdir(), 'portwarden-k8s-'));
      const config = join(data, 'authority.yaml');
      await writeFile(config, text);
      const env = { PATH: process.env.PATH ?? '', PORTWARDEN_ADMIN_TOKEN: placeholder, PORTWARDEN_LISTEN: '127.0.0.1:0', PORTWARDEN_DATA_DIR: data };
      const failed = await run('node_modules/.bin/node', ['bin/portwarden.js', 'authority', '--config', config], { env, timeout: 15_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      await rm(data, { recursive: true, force: true });
      expect(failed.code).toBe(2);
      expect(failed.stderr).toContain('PORTWARDEN_ADMIN_TOKEN must be at least 16 characters');
    });

    it('is probed on /healthz and /readyz at its API port, and given longer than shutdown_timeout to stop', () => {
      expect(probe(container, 'livenessProbe')).toEqual({ path: '/healthz', port: config.listen.port });
      expect(probe(container, 'readinessProbe')).toEqual({ path: '/readyz', port: config.listen.port });
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(seconds(config.shutdown_timeout));
    });

    it('runs with the restricted security context', () => {
      expectRestricted(pod, container);
      expect(container.securityContext).toMatchObject(hardened);
    });

    it('is reachable over HTTPS through its Service at the URL the sidecar uses, with a certificate for that name', () => {
      const service = find('Service', 'portwarden-authority');
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      const port = (service.spec.ports as Obj[])[0] as Obj;
      expect(containerPort(container, port.targetPort)).toBe(config.listen.port);
      const sidecar = sidecarConfig();
      const host = `${service.metadata.name}.${service.metadata.namespace}.svc`;
      expect(sidecar.authority.url).toBe(`https://${host}:${port.port}`);
      expect(sidecar.authority.issuer).toBe(config.issuer);
      expect(authorityCertificate().spec.dnsNames).toContain(host);
      // the sidecar trusts the authority's CA from a ConfigMap copied into its namespace (docs/deploy.md)
      const payments = find('Deployment', 'payments').spec.template.spec as Obj;
      const portwarden = (payments.initContainers as Obj[]).find((c) => c.name === 'portwarden') as Obj;
      const ca = mountOf(portwarden, payments, sidecar.authority.ca ?? '');
      expect(ca?.volume.configMap?.name).toBe('portwarden-authority-ca');
      expect(posix.relative(ca?.mountPath ?? '', sidecar.authority.ca ?? '')).toBe('ca.crt');
      expect(docsDeploy).toContain('create configmap portwarden-authority-ca --from-file=ca.crt');
    });

    it('serves TLS from the Secret the cert-manager Certificate writes, and is probed over HTTPS', () => {
      expect(config.tls).toBeDefined();
      const secret = authorityCertificate().spec.secretName;
      for (const path of [config.tls?.cert ?? '', config.tls?.key ?? '']) {
        const mount = mountOf(container, pod, path);
        expect(mount?.volume.secret?.secretName, path).toBe(secret);
        expect(posix.relative(mount?.mountPath ?? '', path)).toMatch(/^tls\.(crt|key)$/);
      }
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[kind].httpGet.scheme, kind).toBe('HTTPS');
      expect(deployment.spec.template.metadata.annotations['prometheus.io/scheme']).toBe('https');
      const monitor = (find('ServiceMonitor', 'portwarden-authority').spec.endpoints as Obj[])[0] as Obj;
      expect(monitor.scheme).toBe('https');
      expect(monitor.tlsConfig.ca.secret).toEqual({ name: secret, key: 'ca.crt' });
    });
  });

  describe('the example app with portwarden as a native sidecar', () => {
    const deployment = find('Deployment', 'payments');
    const pod = deployment.spec.template.spec as Obj;
    const sidecar = (pod.initContainers as Obj[]).find((c) => c.name === 'portwarden') as Obj;
    const config = sidecarConfig();

    it('is an init container with restartPolicy Always, running `portwarden sidecar`', () => {
      expect(sidecar.restartPolicy).toBe('Always');
      expect(sidecar.args.slice(0, 1)).toEqual(['sidecar']);
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    });

    it('listens on the pod port, forwards to the app on loopback, and the Service targets that port', () => {
      const port = config.ports[0];
      expect(port?.listens[0].port).toBe(containerPort(sidecar, 'api'));
      expect(port?.upstream.host).toBe('127.0.0.1');
      const service = find('Service', 'payments');
      const target = (service.spec.ports as Obj[])[0]?.targetPort;
      expect(containerPort(sidecar, target)).toBe(port?.listens[0].port);
      // the app container publishes nothing: only the sidecar is reachable
      for (const app of pod.containers as Obj[]) expect(app.ports ?? []).toEqual([]);
    });

    it('binds the admin listener on the pod address and is probed there on /livez and /readyz', () => {
      expect(config.admin.listen.host).toBe('0.0.0.0');
      const admin = config.admin.listen.port;
      expect(containerPort(sidecar, 'admin')).toBe(admin);
      expect(probe(sidecar, 'livenessProbe')).toEqual({ path: '/livez', port: admin });
      expect(probe(sidecar, 'readinessProbe')).toEqual({ path: '/readyz', port: admin });
      // started (and the app let start) once its listeners accept; not gated on a license, or a
      // pod that has none yet would be restarted by its startup probe instead of waiting unready
      expect(probe(sidecar, 'startupProbe')).toEqual({ path: '/healthz', port: admin });
    });

    it('requests the memory the bench measured, with a limit that holds max_connections', async () => {
      const rss = await benchSidecarRss();
      const { requests, limits } = sidecar.resources as { requests: Obj; limits: Obj };
      // under its request the pod is not the first evicted when the node runs short of memory
      expect(mebibytes(requests.memory), `requests.memory ${requests.memory} vs ${rss.withConnections} MiB resident with 1,000 connections`).toBeGreaterThanOrEqual(rss.withConnections);
      // every port full of idle connections, at the bench's cost per connection, stays under the limit
      const perConnection = (rss.withConnections - rss.idle) / 1000;
      const full = rss.idle + perConnection * config.ports.reduce((sum, port) => sum + port.max_connections, 0);
      expect(mebibytes(limits.memory), `limits.memory ${limits.memory} vs ${full.toFixed(0)} MiB with every port at max_connections`).toBeGreaterThan(full);
      expect(mebibytes(limits.memory)).toBeGreaterThan(mebibytes(requests.memory));
      expect(requests.cpu, 'a CPU request').toMatch(/^\d+m?$/);
      // no CPU limit: a throttled proxy delays every caller of the app
      expect(limits.cpu).toBeUndefined();
    });

    it('gives the pod longer to stop than the sidecar drains (shutdown_timeout)', () => {
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(seconds(config.shutdown_timeout));
    });

    it('reads its token from the Secret mounted at authority.token_file', () => {
      const mount = mountOf(sidecar, pod, config.authority.token_file);
      const secret = find('Secret', mount?.volume.secret?.secretName);
      expect(secret.metadata.namespace).toBe(deployment.metadata.namespace);
      expect(Object.keys(secret.stringData ?? secret.data ?? {})).toContain(posix.relative(mount?.mountPath ?? '', config.authority.token_file));
    });

    it('runs every container restricted, with writable state only on an emptyDir', () => {
      for (const container of [...(pod.initContainers as Obj[]), ...(pod.containers as Obj[])]) expectRestricted(pod, container);
      expect(sidecar.securityContext).toMatchObject(hardened);
      for (const path of [config.authority.cache_dir, config.telemetry.spool_dir]) {
        expect(mountOf(sidecar, pod, path)?.volume.emptyDir, `${path} is on an emptyDir`).toBeDefined();
      }
    });

    it('is scraped: prometheus.io annotations and a ServiceMonitor on the admin port', () => {
      const admin = config.admin.listen.port;
      expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(admin), 'prometheus.io/path': '/metrics' });
      expect(scrapedContainerPort('payments-portwarden', sidecar)).toBe(admin);
    });
  });

  it('has a ServiceMonitor for the authority on its API port', () => {
    const deployment = find('Deployment', 'portwarden-authority');
    const container = deployment.spec.template.spec.containers[0] as Obj;
    expect(scrapedContainerPort('portwarden-authority', container)).toBe(containerPort(container, 'api'));
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '7400' });
  });

  it('pass `portwarden check` against the example register', async () => {
    const inputs = files.map((file) => join(dir, file));
    const { stdout } = await run('node_modules/.bin/node', ['bin/portwarden.js', 'check', ...inputs, '--register', join(dir, 'example-register.json'), '--format', 'json'], {
      timeout: 20_000,
    }).catch((err: { code: number; stdout: string; stderr: string }) => {
      throw new Error(`portwarden check exited ${err.code}:\n${err.stdout}${err.stderr}`);
    });
    const report = JSON.parse(stdout) as { findings: unknown[]; errors: unknown[]; files: { ports: { service: string; number: number }[] }[] };
    expect(report.findings).toEqual([]);
    expect(report.errors).toEqual([]);
    // not vacuous: the ports of both workloads were read and checked
    const checked = new Set(report.files.flatMap((file) => file.ports.map((port) => `${port.service}:${port.number}`)));
    expect(checked).toEqual(new Set(['portwarden-authority:7400', 'payments:20001', 'payments:20002']));
  });
});

describe(`Kubernetes manifests against the Kubernetes ${kubernetesVersion} OpenAPI schema`, () => {
  /** The problems of every document of `text`, each with its object's kind and name. */
  async function problems(text: string): Promise<string[]> {
    const found: string[] = [];
    for (const object of manifestDocuments(text) as Obj[]) for (const problem of await schemaProblems(object)) found.push(`${object.kind} ${object.metadata?.name}: ${problem}`);
    return found;
  }

  /** A copy of a shipped manifest with one edit, and what the schema says of it. */
  async function problemsOfBroken(file: string, from: string, to: string): Promise<string[]> {
    const text = await readFile(join(dir, file), 'utf8');
    expect(text, `${file} has ${from}`).toContain(from);
    return problems(text.replace(from, to));
  }

  // A webhook configuration like the one the authority's admission endpoint is served with
  const webhook = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: portwarden-admission
webhooks:
  - name: ports.portwarden.example.com
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 5
    clientConfig:
      service: { name: portwarden-authority, namespace: portwarden, path: /v1/admission/validate, port: 7443 }
    rules:
      - { apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods], scope: Namespaced }
    namespaceSelector:
      matchExpressions:
        - { key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, portwarden] }
`;

  it('every document of every file passes, unknown fields refused', async () => {
    const failed: { document: string; problems: string[] }[] = [];
    for (const { file, object } of documents) {
      const found = await schemaProblems(object);
      if (found.length > 0) failed.push({ document: `${file}: ${object.kind} ${object.metadata?.name}`, problems: found });
    }
    expect(failed).toEqual([]);
    // not vacuous: the workloads, and a custom resource against its operator's schema, were checked
    expect(documents.map(({ object }) => object.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'Secret', 'ServiceMonitor']));
  });

  it('refuses an unknown field, as the API server does with strict field validation', async () => {
    expect(await problemsOfBroken('payments.yaml', 'readinessProbe:', 'readinesProbe:')).toEqual(['Deployment payments: spec.template.spec.initContainers[0].readinesProbe: unknown field']);
    expect(await problemsOfBroken('authority.yaml', '    type: Recreate', '    typ: Recreate')).toEqual(['Deployment portwarden-authority: spec.strategy.typ: unknown field']);
    // in a custom resource too, against the prometheus-operator's schema
    expect(await problemsOfBroken('monitoring.yaml', 'interval: 30s', 'intervall: 30s')).toEqual(['ServiceMonitor portwarden-authority: spec.endpoints[0].intervall: unknown field']);
  });

  it('refuses a value of the wrong type or outside its enum', async () => {
    expect(await problemsOfBroken('payments.yaml', 'prometheus.io/scrape: "true"', 'prometheus.io/scrape: true')).toEqual([
      'Deployment payments: spec.template.metadata.annotations["prometheus.io/scrape"]: must be string',
    ]);
    expect(await problemsOfBroken('payments.yaml', 'replicas: 2', 'replicas: two')).toEqual(['Deployment payments: spec.replicas: must be integer']);
    expect(await problemsOfBroken('authority.yaml', 'type: RuntimeDefault', 'type: Runtime')).toEqual([
      'Deployment portwarden-authority: spec.template.spec.securityContext.seccompProfile.type: must be equal to one of the allowed values',
    ]);
  });

  it('refuses a missing required field', async () => {
    expect(await problemsOfBroken('payments.yaml', '      port: 20001\n', '')).toEqual(['Service payments: spec.ports[0].port: required field missing']);
  });

  it('refuses API versions Kubernetes no longer serves, and kinds it has no schema for', async () => {
    expect(await problemsOfBroken('authority.yaml', 'apiVersion: apps/v1', 'apiVersion: extensions/v1beta1')).toEqual([
      `Deployment portwarden-authority: apiVersion extensions/v1beta1: not a stable API version; Kubernetes ${kubernetesVersion} may not serve it`,
    ]);
    expect(await problems('apiVersion: apps/v1\nkind: Deploymnet\nmetadata: { name: x }\n')).toEqual([`Deploymnet x: kind Deploymnet: not in apps/v1 (Kubernetes ${kubernetesVersion})`]);
    expect(await problems('apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: { name: x }\n')).toEqual([
      'IngressRoute x: apiVersion traefik.io/v1alpha1, kind IngressRoute: no schema known for it; add the @kubernetes-models package of its operator to the test',
    ]);
  });

  it('validates an admission webhook configuration (admissionregistration.k8s.io/v1)', async () => {
    expect(await problems(webhook)).toEqual([]);
    expect(await problems(webhook.replace('    sideEffects: None\n', ''))).toEqual(['ValidatingWebhookConfiguration portwarden-admission: webhooks[0].sideEffects: required field missing']);
    expect(await problems(webhook.replace('timeoutSeconds:', 'timeout:'))).toEqual(['ValidatingWebhookConfiguration portwarden-admission: webhooks[0].timeout: unknown field']);
  });

  it('reads YAML as kubectl does: 1.1 octals and booleans, no duplicate keys', () => {
    expect(manifestDocuments('defaultMode: 0440\noptional: yes\n')).toEqual([{ defaultMode: 288, optional: true }]);
    expect(() => manifestDocuments('kind: Service\nkind: Pod\n')).toThrow(/unique/i);  });
});

describe('the admission webhook', () => {
  const configuration = find('ValidatingWebhookConfiguration', 'portwarden');
  const webhooks = configuration.webhooks as Obj[];
  const service = find('Service', 'portwarden-authority');
  const deployment = find('Deployment', 'portwarden-authority');
  const container = deployment.spec.template.spec.containers[0] as Obj;
  const authorityConfig = () => parseConfigText(configMapEntry('portwarden', 'portwarden-authority', 'authority.yaml'), 'authority.yaml', authoritySchema, {});

  it('is enabled in the authority, which serves it over TLS', () => {
    const config = authorityConfig();
    expect(config.admission.enabled).toBe(true);
    expect(config.tls).toBeDefined();
  });

  it("calls the authority's Service, on the port that reaches its API listener, at the webhook's path", () => {
    for (const webhook of webhooks) {
      const target = webhook.clientConfig.service as Obj;
      expect({ name: target.name, namespace: target.namespace }).toEqual({ name: service.metadata.name, namespace: service.metadata.namespace });
      const port = (service.spec.ports as Obj[]).find((p) => p.port === target.port);
      expect(port, `Service port ${target.port}`).toBeDefined();
      expect(containerPort(container, port?.targetPort)).toBe(authorityConfig().listen.port);
      expect(target.path).toBe('/v1/admission/validate');
      expect(webhook.clientConfig.url).toBeUndefined();
    }
  });

  it('gets its caBundle from the Certificate that makes the Secret the authority serves', () => {
    const [namespace, name] = String(configuration.metadata.annotations['cert-manager.io/inject-ca-from']).split('/');
    const certificate = find('Certificate', name ?? '');
    expect(certificate.metadata.namespace).toBe(namespace);
    const mount = mountOf(container, deployment.spec.template.spec, authorityConfig().tls?.cert ?? '');
    expect(mount?.volume.secret?.secretName).toBe(certificate.spec.secretName);
    expect(certificate.spec.dnsNames).toContain(`${service.metadata.name}.${service.metadata.namespace}.svc`);
    expect(certificate.spec.usages).toContain('server auth');
    // signed by a CA Issuer whose CA a self-signed Issuer makes, all in the authority's namespace
    const issuer = find('Issuer', certificate.spec.issuerRef.name);
    const ca = objects.find((o) => o.kind === 'Certificate' && o.spec.isCA === true && o.spec.secretName === issuer.spec.ca?.secretName);
    expect(ca, 'the CA Certificate behind the Issuer').toBeDefined();
    expect(find('Issuer', ca?.spec.issuerRef.name).spec.selfSigned).toEqual({});
    for (const o of [issuer, ca]) expect(o?.metadata.namespace).toBe(deployment.metadata.namespace);
  });

  it('speaks v1 without side effects, with a short timeout, ignoring failures unless a namespace opts in to Fail', () => {
    expect(webhooks.map((w) => [w.name, w.failurePolicy])).toEqual([
      ['ports.portwarden.dev', 'Ignore'],
      ['ports-strict.portwarden.dev', 'Fail'],
    ]);
    for (const webhook of webhooks) {
      expect(webhook).toMatchObject({ admissionReviewVersions: ['v1'], sideEffects: 'None', matchPolicy: 'Equivalent' });
      // answered from memory; the view waits at most 1s for a slow store read
      expect(webhook.timeoutSeconds).toBeGreaterThan(1);
      expect(webhook.timeoutSeconds).toBeLessThanOrEqual(5);
    }
    // the opt-in label sends a namespace to exactly one of the two
    const optIn = (w: Obj) => (w.namespaceSelector.matchExpressions as Obj[]).find((e) => e.key === 'portwarden.dev/admission-failure-policy');
    expect(webhooks.map((w) => [optIn(w)?.operator, optIn(w)?.values])).toEqual([
      ['NotIn', ['fail']],
      ['In', ['fail']],
    ]);
    expect(docsDeploy).toContain('portwarden.dev/admission-failure-policy=fail');
  });

  it("leaves out kube-system and the authority's own namespace, in both webhooks", () => {
    for (const webhook of webhooks) {
      const byName = (webhook.namespaceSelector.matchExpressions as Obj[]).find((e) => e.key === 'kubernetes.io/metadata.name');
      expect(byName?.operator).toBe('NotIn');
      expect(byName?.values).toEqual(expect.arrayContaining(['kube-system', deployment.metadata.namespace]));
    }
    const config = authorityConfig();
    for (const namespace of ['kube-system', deployment.metadata.namespace]) expect(namespacePolicy(config.admission, namespace).mode).toBe('off');
  });

  it('sends CREATE and UPDATE of every kind it judges, and nothing else', () => {
    const kindsOf: Record<string, string> = { pods: 'Pod', services: 'Service', deployments: 'Deployment', statefulsets: 'StatefulSet', daemonsets: 'DaemonSet', jobs: 'Job', cronjobs: 'CronJob' };
    for (const webhook of webhooks) {
      const sent = (webhook.rules as Obj[]).flatMap((rule) => {
        expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
        expect(rule.apiVersions).toEqual(['v1']);
        return (rule.resources as string[]).map((resource) => kindsOf[resource]);
      });
      expect(sent.sort()).toEqual(['CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'Service', 'StatefulSet']);
      for (const kind of sent) expect(hasPorts(kind ?? '')).toBe(true);
    }
  });

  it('allows every shipped workload and Service against the example register, and would refuse one without its label', async () => {
    const { listen: _listen, data_dir: _dataDir, tls: _tls, ...config } = parse(configMapEntry('portwarden', 'portwarden-authority', 'authority.yaml')) as Record<string, unknown>;
    const authority = await startTestAuthority({ config });
    const shipped = JSON.parse(await readFile(join(dir, 'example-register.json'), 'utf8')) as { ports: { service: string; name: string; env: string; number: number; owner: string }[] };
    for (const port of shipped.ports) {
      const answer = await authority.api('POST', '/v1/ports', { body: { service: port.service, name: port.name, env: port.env, number: port.number, owner: port.owner } });
      expect(answer.status).toBe(201);
    }
    const asReview = (object: Obj, uid: string) => {
      const [group, version] = String(object.apiVersion).includes('/') ? String(object.apiVersion).split('/') : ['', object.apiVersion];
      const { file: _file, ...plain } = object;
      return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, kind: { group, version, kind: object.kind }, namespace: object.metadata.namespace, name: object.metadata.name, operation: 'CREATE', object: plain } };
    };
    const judged = objects.filter((o) => hasPorts(o.kind));
    expect(judged.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/payments', 'Deployment/portwarden-authority', 'Service/payments', 'Service/payments-portwarden-admin', 'Service/portwarden-authority']);
    for (const [i, object] of judged.entries()) {
      const answer = await authority.api('POST', '/v1/admission/validate', { body: asReview(object, `uid-${i}`), token: null });
      expect({ object: `${object.kind}/${object.metadata.name}`, response: answer.body.response }).toEqual({ object: `${object.kind}/${object.metadata.name}`, response: { uid: `uid-${i}`, allowed: true } });
    }
    const unlabelled = structuredClone(find('Deployment', 'payments'));
    delete unlabelled.spec.template.metadata.labels['portwarden.dev/service'];
    const refused = (await authority.api('POST', '/v1/admission/validate', { body: asReview(unlabelled, 'uid-x'), token: null })).body.response;
    expect(refused).toMatchObject({ allowed: false, status: { message: expect.stringContaining('no_service') } });
  });
});

describe('the step-by-step in docs/deploy.md', () => {
  it('builds, on the example authority configuration, a register that passes `portwarden check`', async () => {
    // the authority's ConfigMap, as the example runs it (but on loopback and a temp directory)
    const authorityYaml = parse(configMapEntry('portwarden', 'portwarden-authority', 'authority.yaml')) as Record<string, unknown>;
    const { listen: _listen, data_dir: _dataDir, tls: _tls, ...config } = authorityYaml;
    const authority = await startTestAuthority({ config });
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const sink = (append: (text: string) => void) => new Writable({ write: (chunk: Buffer, _e, done) => (append(chunk.toString()), done()) });
      const code = await main(argv, {
        env: { PORTWARDEN_AUTHORITY: authority.url, PORTWARDEN_TOKEN: testAdminToken },
        stdout: sink((text) => (stdout += text)),
        stderr: sink((text) => (stderr += text)),
        signal: new AbortController().signal,
      });
      expect({ argv: argv.join(' '), code, stderr }).toMatchObject({ code: 0 });
      return stdout;
    };
    // what the guide runs, and the authority's own port, which an operator registers once
    await cli('ports', 'request', '--service', 'portwarden-authority', '--name', 'api', '--number', '7400', '--owner', 'team-platform');
    await cli('ports', 'request', '--service', 'payments', '--name', 'api', '--number', '20001', '--owner', 'team-payments', '--license', '--allow', 'spiffe://cluster.local/ns/billing/sa/api');
    await cli('ports', 'request', '--service', 'payments', '--name', 'admin', '--number', '20002', '--owner', 'team-payments');
    expect(await cli('tokens', 'create', '--role', 'sidecar', '--service', 'payments')).toMatch(/^pw\.\S+\n$/);
    const snapshot = join(await tempDir('portwarden-register-'), 'register.json');
    await cli('ports', 'export', '--out', snapshot);
    const out = await cli('check', ...files.map((file) => join(dir, file)), '--register', snapshot, '--format', 'json');
    expect((JSON.parse(out) as { findings: unknown[] }).findings).toEqual([]);
    // the snapshot shipped beside the manifests holds the same numbers
    const shipped = JSON.parse(await readFile(join(dir, 'example-register.json'), 'utf8')) as { ports: { service: string; name: string; number: number }[] };
    const exported = JSON.parse(await readFile(snapshot, 'utf8')) as { ports: { service: string; name: string; number: number }[] };
    const numbers = (ports: { service: string; name: string; number: number }[]) => ports.map((p) => `${p.service}/${p.name}=${p.number}`).sort();
    expect(numbers(exported.ports)).toEqual(numbers(shipped.ports));
  });
});

/** The sidecar's resident size from bench/README.md's RSS table: a fresh process at idle, and holding 1,000 idle connections. */
async function benchSidecarRss(): Promise<{ idle: number; withConnections: number }> {
  const readme = await readFile('bench/README.md', 'utf8');
  const row = /^\| portwarden \| ([\d.]+) \| ([\d.]+) \|/m.exec(readme.slice(readme.indexOf('| RSS of a fresh process')));
  if (!row) throw new Error('no portwarden row in the RSS table of bench/README.md');
  return { idle: Number(row[1]), withConnections: Number(row[2]) };
}

/** A Kubernetes memory quantity in MiB (`160Mi`, `1Gi`, `200M`). */
function mebibytes(quantity: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(quantity));
  if (!match) throw new Error(`not a memory quantity: ${String(quantity)}`);
  const factor = { Ki: 1 / 1024, Mi: 1, Gi: 1024, k: 1000 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 }[match[2] ?? ''] ?? 1 / 2 ** 20;
  return Number(match[1]) * factor;
}

/** The cert-manager Certificate that makes the authority's serving certificate. */
function authorityCertificate(): Obj {
  return find('Certificate', 'portwarden-authority-tls');
}

function sidecarConfig() {
  const pod = find('Deployment', 'payments').spec.template.spec as Obj;
  const sidecar = (pod.initContainers as Obj[]).find((c) => c.name === 'portwarden') as Obj;
  const { file, text } = configOf(sidecar, pod, 'payments');
  return parseConfigText(text, `ConfigMap payments-portwarden ${basename(file)}`, safeSidecarSchema, {});
}

/** The container port a ServiceMonitor scrapes: its endpoint port, through the Service it selects. */
function scrapedContainerPort(name: string, container: Obj): number | undefined {
  const monitor = find('ServiceMonitor', name);
  const endpoint = (monitor.spec.endpoints as Obj[])[0] as Obj;
  expect(endpoint.path ?? '/metrics').toBe('/metrics');
  const selector = monitor.spec.selector.matchLabels as Record<string, string>;
  const services = objects.filter(
    (o) => o.kind === 'Service' && o.metadata.namespace === monitor.metadata.namespace && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v),
  );
  expect(services.length, `ServiceMonitor ${name} selects one Service`).toBe(1);
  const port = ((services[0]?.spec.ports ?? []) as Obj[]).find((p) => p.name === endpoint.port);
  return port ? containerPort(container, port.targetPort) : undefined;
}

