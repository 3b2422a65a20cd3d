// Validates the objects `kubectl kustomize deploy/k8s` renders: each against
// the Kubernetes API schema of its apiVersion and kind (kubernetes-models),
// then what the deployment depends on (docs/deploy.md).
//   node validate-k8s.mjs RENDERED.yaml
// Prints one line per object and exits 1 naming every failure.
import { readFileSync } from "node:fs";
import yaml from "js-yaml";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate-k8s.mjs RENDERED.yaml");
  process.exit(2);
}
const objects = yaml.loadAll(readFileSync(file, "utf8")).filter((o) => o);
const failures = [];
const fail = (what) => failures.push(what);

// apiVersion "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1.
async function model(apiVersion, kind) {
  const mod = await import(`kubernetes-models/${apiVersion}`).catch(() => null);
  return mod && mod[kind];
}

for (const o of objects) {
  const name = `${o.kind}/${o.metadata?.name}`;
  const Model = await model(o.apiVersion, o.kind);
  if (!Model) {
    fail(`${name}: no schema for ${o.apiVersion} ${o.kind}`);
    continue;
  }
  try {
    new Model(o).validate();
    console.log(`valid: ${o.apiVersion} ${name}`);
  } catch (e) {
    fail(`${name}: ${e.message}`);
  }
}

const byKind = (kind) => objects.filter((o) => o.kind === kind);
const one = (kind, name) => {
  const found = byKind(kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) fail(`expected one ${kind}${name ? " " + name : ""}, found ${found.length}`);
  return found[0] ?? {};
};
const expect = (cond, what) => {
  if (!cond) fail(what);
};

const sts = one("StatefulSet", "minga");
const headless = one("Service", "minga-peers");
const client = one("Service", "minga");
const pdb = one("PodDisruptionBudget", "minga");
const secret = one("Secret", "minga-cluster-secret");
const config = one("ConfigMap");
const spec = sts.spec ?? {};
const pod = spec.template?.spec ?? {};
const container = (pod.containers ?? [])[0] ?? {};
const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
const portOf = (name) => (container.ports ?? []).find((p) => p.name === name)?.containerPort;

expect(spec.serviceName === headless.metadata?.name, "the StatefulSet's serviceName is the headless Service");
expect(headless.spec?.clusterIP === "None", "minga-peers is headless (clusterIP: None)");
expect(headless.spec?.publishNotReadyAddresses === true, "minga-peers publishes not-ready addresses");
expect(spec.replicas >= 3 && spec.replicas % 2 === 1, `an odd number of voters, 3 or more (got ${spec.replicas})`);
expect(spec.podManagementPolicy === "Parallel", "pods start in parallel (the first election needs a majority)");
const labels = spec.selector?.matchLabels ?? {};
for (const svc of [headless, client]) {
  expect(JSON.stringify(svc.spec?.selector) === JSON.stringify(labels), `${svc.metadata?.name} selects the pods`);
}
expect(JSON.stringify(pdb.spec?.selector?.matchLabels) === JSON.stringify(labels), "the PodDisruptionBudget selects the pods");
for (const [k, v] of Object.entries(labels)) {
  expect(spec.template?.metadata?.labels?.[k] === v, `the pod template carries the selector label ${k}`);
}
// The budget keeps a quorum: at most (replicas - 1) / 2 voters down at once.
const quorumLoss = Math.floor((spec.replicas - 1) / 2);
const maxDown =
  pdb.spec?.maxUnavailable !== undefined ? pdb.spec.maxUnavailable : spec.replicas - (pdb.spec?.minAvailable ?? 0);
expect(Number.isInteger(maxDown) && maxDown >= 1 && maxDown <= quorumLoss, `the budget keeps a quorum (max down ${maxDown})`);

const probe = container.readinessProbe?.httpGet ?? {};
expect(probe.path === "/healthz", "readiness probes GET /healthz");
expect(probe.port === "monitor" || probe.port === 7480, "readiness probes the monitor port");
expect(portOf("client") === 7400 && portOf("monitor") === 7480 && portOf("raft") === 7500, "ports 7400, 7480, 7500");
const requests = container.resources?.requests ?? {};
expect(requests.cpu && requests.memory, "the container requests cpu and memory");
expect(pod.securityContext?.runAsNonRoot === true && pod.securityContext?.runAsUser !== 0, "the pod runs as non-root");

expect(env.MINGA_ID?.valueFrom?.fieldRef?.fieldPath === "metadata.name", "the node id is the pod name");
expect(env.MINGA_ADVERTISE?.value === "$(MINGA_ID).minga-peers:7400", "each node advertises its stable name");
const peers = (env.MINGA_PEERS?.value ?? "").split(",");
const voters = Number(env.MINGA_INITIAL_VOTERS?.value);
expect(voters === spec.replicas, `MINGA_INITIAL_VOTERS is the replica count (${voters})`);
expect(
  peers.length === spec.replicas &&
    peers.every((p, i) => p === `minga-${i}=minga-${i}.${headless.metadata?.name}:7500`),
  `MINGA_PEERS lists every founding pod by its stable name: ${peers}`,
);

// The secret and the configuration are mounted where the environment says.
const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
const secretKey = Object.keys(secret.stringData ?? secret.data ?? {})[0];
expect(volumes.secret?.secret?.secretName === secret.metadata?.name, "the secret volume is the Secret");
expect(env.MINGA_CLUSTER_SECRET_FILE?.value === `${mounts.secret}/${secretKey}`, "MINGA_CLUSTER_SECRET_FILE is the mounted key");
const secretValue = secret.stringData?.[secretKey] ?? Buffer.from(secret.data?.[secretKey] ?? "", "base64").toString();
expect(secretValue.length >= 16, "the cluster secret has 16 bytes or more");
expect(volumes.config?.configMap?.name === config.metadata?.name, "the config volume is the generated ConfigMap");
const tomlKey = Object.keys(config.data ?? {})[0];
expect(env.MINGA_CONFIG?.value === `${mounts.config}/${tomlKey}`, "MINGA_CONFIG is the mounted TOML file");
expect(/data_dir = "\/data"/.test(config.data?.[tomlKey] ?? ""), "the TOML file keeps data in /data");
expect(mounts.data === "/data", "the data volume is mounted at /data");
const claim = (spec.volumeClaimTemplates ?? []).find((c) => c.metadata?.name === "data");
expect(claim?.spec?.resources?.requests?.storage, "each pod claims its own data volume");

for (const f of failures) console.error(`fail: ${f}`);
console.log(`${objects.length} objects, ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
