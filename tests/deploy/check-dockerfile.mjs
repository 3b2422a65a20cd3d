// Parses deploy/Dockerfile (dockerfile-ast) and checks what the image must
// be (docs/deploy.md): Debian 12 stages, only the release binary copied into
// the final one, a non-root user, a health check on /healthz, data in a
// volume; and that the final stage installs every package that holds a
// shared library of the built binary.
//   node check-dockerfile.mjs DOCKERFILE DOCKERIGNORE [RUNTIME_PACKAGE...]
import { readFileSync } from "node:fs";
import { DockerfileParser } from "dockerfile-ast";

const [file, ignoreFile, ...runtimePackages] = process.argv.slice(2);
if (!file || !ignoreFile) {
  console.error("usage: node check-dockerfile.mjs DOCKERFILE DOCKERIGNORE [RUNTIME_PACKAGE...]");
  process.exit(2);
}
const d = DockerfileParser.parse(readFileSync(file, "utf8"));
const failures = [];
const expect = (cond, what) => {
  if (!cond) failures.push(what);
};

const froms = d.getFROMs();
expect(froms.length >= 2, `a multi-stage build (${froms.length} FROM)`);
for (const f of froms) {
  expect(f.getImageName() === "debian" && /^bookworm(-slim)?$/.test(f.getImageTag() ?? ""),
    `every stage is Debian 12: FROM ${f.getImageName()}:${f.getImageTag()}`);
}
const stages = froms.map((f) => f.getBuildStage()).filter(Boolean);
// The instructions of the final stage.
const all = d.getInstructions();
const lastFrom = froms[froms.length - 1];
const final = all.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
const kw = (k) => final.filter((i) => i.getKeyword() === k);
const args = (i) => i.getArgumentsContent() ?? "";

for (const copy of kw("COPY")) {
  const from = copy.getFlags().find((f) => f.getName() === "from");
  if (from) {
    expect(stages.includes(from.getValue()), `COPY --from=${from.getValue()} names a stage`);
    expect(/^\S*\/minga \/usr\/local\/bin\/minga$/.test(args(copy)), `only the binary comes from the build: ${args(copy)}`);
  }
}
expect(kw("COPY").some((c) => c.getFlags().some((f) => f.getName() === "from")), "the binary is copied from the build stage");
const users = kw("USER");
expect(users.length > 0, "the final stage sets a USER");
const user = users.length ? args(users[users.length - 1]).split(":")[0] : "root";
expect(user !== "root" && user !== "0", `the final USER is not root (${user})`);
const hc = kw("HEALTHCHECK");
expect(hc.length === 1 && /CMD .*\/healthz/.test(args(hc[0])), "HEALTHCHECK probes /healthz");
expect(kw("VOLUME").some((v) => /\/data/.test(args(v))), "VOLUME /data");
expect(kw("ENV").some((e) => /MINGA_DATA_DIR=\/data/.test(args(e))), "MINGA_DATA_DIR is the volume");
expect(kw("ENV").some((e) => /MINGA_CONFIG=\S+\.toml/.test(args(e))), "MINGA_CONFIG names a TOML file");
expect(kw("ENTRYPOINT").some((e) => /"minga"/.test(args(e))), "ENTRYPOINT is minga");
// The health check's tool is installed in the final stage.
const installs = kw("RUN").map(args).filter((r) => /apt-get install/.test(r)).join(" ");
const tool = hc.length ? args(hc[0]).match(/CMD\s+(\S+)/)?.[1] : "";
expect(tool === "minga" || installs.split(/\s+/).includes(tool), `the health check's ${tool} is installed`);
for (const p of runtimePackages) {
  expect(installs.split(/\s+/).includes(p), `the final stage installs ${p}, which holds a library the binary links`);
}
// The build stage may not send the work tree's build output or VCS data.
const ignored = readFileSync(ignoreFile, "utf8").split("\n").map((l) => l.trim());
for (const p of [".git", "build/"]) expect(ignored.includes(p), `.dockerignore leaves out ${p}`);

for (const f of failures) console.error(`fail: ${f}`);
console.log(`${file}: ${all.length} instructions, ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
