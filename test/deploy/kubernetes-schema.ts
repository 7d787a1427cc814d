import { parseAllDocuments } from 'yaml';

/**
 * Kubernetes objects checked against the Kubernetes OpenAPI schema, as the `kubernetes-models`
 * packages compile it into validators (types, required fields, enums, formats such as
 * int-or-string and quantities), and refused for what the API server's strict field validation
 * (`kubectl apply`'s default, `fieldValidation=Strict`) refuses and the schema does not say: a
 * field the schema does not define, such as `readinesProbe`.
 */

/** The Kubernetes release whose OpenAPI schema kubernetes-models 5.1 carries (its changelog: "Update to Kubernetes v1.36.0"). */
export const kubernetesVersion = '1.36';

/**
 * Custom resources: their API group, and the package of the same family that carries the
 * schema of the operator that defines them. A group not here and not built in is refused, so a
 * new kind of object gets its schema (or a deliberate decision) before it ships.
 */
const customResourcePackages: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator', // prometheus-operator v0.91
  'cert-manager.io': '@kubernetes-models/cert-manager', // the webhook's certificates (webhook-certificates.yaml)
};

type Obj = Record<string, unknown>;
type Segment = string | number;
interface Model {
  apiVersion: string;
  kind: string;
  prototype: { validate(): void };
}
interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: { missingProperty?: string };
}

/** Every document of a manifest file as the API server reads it. */
export function manifestDocuments(text: string): Obj[] {
  // YAML 1.1, as kubectl's decoder reads it (`yes`, `on` are booleans there), and keys once only
  return parseAllDocuments(text, { version: '1.1', uniqueKeys: true }).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors[0]?.message);
    const value = doc.toJS() as unknown;
    return value === null || value === undefined ? [] : [value as Obj];
  });
}

/**
 * What the API server would refuse in one object, each naming the field's path
 * (`spec.template.spec.initContainers[0].readinesProbe: unknown field`); empty when it passes.
 */
export async function schemaProblems(object: Obj): Promise<string[]> {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind: required'];
  const model = await modelFor(apiVersion, kind);
  if (typeof model === 'string') return [model];
  const traced = trace(object);
  const problems: string[] = [];
  try {
    // the model's validator on the object itself: its constructor would copy (and so read) every field
    model.prototype.validate.call(traced.proxy);
  } catch (err) {
    const errors = (err as { errors?: SchemaError[] }).errors;
    if (!errors) throw err;
    for (const e of errors) problems.push(describe(object, e));
  }
  for (const path of traced.unknownFields()) problems.push(`${format(path)}: unknown field`);
  return [...new Set(problems)];
}

async function modelFor(apiVersion: string, kind: string): Promise<Model | string> {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const builtIn = await importModels(`kubernetes-models/${group === '' ? '' : `${group}/`}${version}`);
  if (builtIn) {
    // the package also keeps APIs that releases since removed (extensions/v1beta1, ...): only
    // the stable versions are served by every release from 1.29 on without a feature gate
    if (!/^v\d+$/.test(version)) return `apiVersion ${apiVersion}: not a stable API version; Kubernetes ${kubernetesVersion} may not serve it`;
    return pick(builtIn, apiVersion, kind) ?? `kind ${kind}: not in ${apiVersion} (Kubernetes ${kubernetesVersion})`;
  }
  const pkg = customResourcePackages[group];
  if (!pkg) return `apiVersion ${apiVersion}, kind ${kind}: no schema known for it; add the @kubernetes-models package of its operator to the test`;
  const custom = await importModels(`${pkg}/${group}/${version}`);
  return (custom && pick(custom, apiVersion, kind)) ?? `kind ${kind}: not in ${apiVersion} (${pkg})`;
}

async function importModels(specifier: string): Promise<Record<string, unknown> | undefined> {
  return (import(specifier) as Promise<Record<string, unknown>>).catch(() => undefined);
}

function pick(models: Record<string, unknown>, apiVersion: string, kind: string): Model | undefined {
  const model = models[kind] as Partial<Model> | undefined;
  return model?.apiVersion === apiVersion && model.kind === kind ? (model as Model) : undefined;
}

/**
 * The object behind a proxy that records which fields the validator looks at. A compiled
 * validator reads every field its schema defines for an object (present or not) and, where the
 * schema allows any keys (labels, ConfigMap data), enumerates them; a key it never read in an
 * object whose fields it did read is one the schema does not define. An object it read nothing
 * of is free-form in the schema (as `x-kubernetes-preserve-unknown-fields`) and passes as is.
 */
function trace(root: Obj): { proxy: Obj; unknownFields(): Segment[][] } {
  const seen = new Map<object, { path: Segment[]; read: Set<string> }>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown, path: Segment[]): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const read = new Set<string>();
    seen.set(value, { path, read });
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver) as unknown;
        if (typeof key !== 'string') return child;
        read.add(key);
        if (!Object.hasOwn(target, key)) return child;
        return wrap(child, [...path, Array.isArray(target) ? Number(key) : key]);
      },
      has(target, key) {
        if (typeof key === 'string') read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        for (const key of Object.keys(target)) read.add(key);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return {
    proxy: wrap(root, []) as Obj,
    unknownFields: () =>
      [...seen]
        .filter(([value, { read }]) => !Array.isArray(value) && read.size > 0)
        .flatMap(([value, { path, read }]) => Object.keys(value).filter((key) => !read.has(key)).map((key) => [...path, key])),
  };
}

function describe(object: Obj, error: SchemaError): string {
  // the JSON pointer, with each segment an index where the document has an array there
  const path: Segment[] = [];
  let node: unknown = object;
  for (const raw of error.instancePath.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = (node as Record<string | number, unknown> | undefined)?.[segment];
  }
  if (error.keyword === 'required' && error.params.missingProperty) return `${format([...path, error.params.missingProperty])}: required field missing`;
  return `${format(path) || '(the object)'}: ${error.message ?? error.keyword}`;
}

/** `spec.template.spec.initContainers[0].readinessProbe`, `metadata.annotations["prometheus.io/port"]`. */
export function format(path: Segment[]): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z_$][\w$-]*$/.test(segment) ? `${i === 0 ? '' : '.'}${segment}` : `[${JSON.stringify(segment)}]`))
    .join('');
}
