import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { checkCompose, checkTerraform, loadCompose, loadTerraform } from "../src/checks.js";
import { checkObservability, loadObservability } from "../src/observability.js";

const root = path.resolve(import.meta.dirname, "../..");
const infra = path.join(root, "infra");
const userData = readFileSync(path.join(infra, "user_data.sh.tftpl"), "utf8");
const clone = <T>(x: T): T => structuredClone(x);
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test("docker-compose.yml satisfies every rule", () => {
  assert.deepEqual(checkCompose(loadCompose(path.join(root, "docker-compose.yml"))), []);
});

test("each compose rule fails on a broken copy", () => {
  const good = loadCompose(path.join(root, "docker-compose.yml")) as Obj;
  const cases: [string, (d: Obj) => void, RegExp][] = [
    ["kafka publishes a port", (d) => (d.services.kafka.ports = ["9092:9092"]), /kafka: publishes ports/],
    ["redis publishes a port", (d) => (d.services.redis.ports = ["6379:6379"]), /redis: publishes ports/],
    [
      "no healthcheck",
      (d) => delete d.services.gateway.healthcheck,
      /gateway: long-running service without a healthcheck/,
    ],
    [
      "depends_on without condition",
      (d) => (d.services.compute.depends_on = ["kafka"]),
      /compute: depends_on must use conditions/,
    ],
    ["latest image", (d) => (d.services.redis.image = "redis:latest"), /redis: image redis:latest is not pinned/],
    ["untagged image", (d) => (d.services.kafka.image = "apache/kafka"), /kafka: image apache\/kafka is not pinned/],
    ["redis without password", (d) => (d.services.redis.command = ["redis-server"]), /redis: no password/],
    ["compute container_name", (d) => (d.services.compute.container_name = "compute"), /compute: container_name/],
    ["compute host port", (d) => (d.services.compute.ports = ["9000:9000"]), /compute: (host ports|publishes)/],
    [
      "topic partitions",
      (d) =>
        (d.services.topics.command = d.services.topics.command.map((x: string) =>
          x.replace("--partitions 30", "--partitions 3"),
        )),
      /topics: must create order_book with 30 partitions/,
    ],
    [
      "services skip the topic job",
      (d) => delete d.services.compute.depends_on.topics,
      /compute: uses Kafka but does not wait/,
    ],
  ];
  for (const [name, mutate, want] of cases) {
    const d = clone(good);
    mutate(d);
    const v = checkCompose(d);
    assert.ok(
      v.some((x) => want.test(x)),
      `${name}: expected a violation matching ${want}, got ${JSON.stringify(v)}`,
    );
  }
});

test("the observability profile satisfies every rule", () => {
  assert.deepEqual(checkObservability(loadCompose(path.join(root, "docker-compose.yml")), loadObservability(root)), []);
});

test("each observability rule fails on a broken copy", () => {
  const compose = loadCompose(path.join(root, "docker-compose.yml")) as Obj;
  const files = loadObservability(root) as Obj;
  const scrape = (f: Obj, job: string) => f.prometheus.scrape_configs.find((j: Obj) => j.job_name === job);
  const cases: [string, (d: Obj, f: Obj) => void, RegExp][] = [
    [
      "prometheus always on",
      (d) => delete d.services.prometheus.profiles,
      /prometheus: must be in the observability profile/,
    ],
    ["grafana missing", (d) => delete d.services.grafana, /grafana: missing/],
    ["grafana without provisioning", (d) => (d.services.grafana.volumes = []), /grafana: provisioning/],
    [
      "compute as a static target (finds one replica)",
      (_d, f) => {
        const j = scrape(f, "compute");
        delete j.dns_sd_configs;
        j.static_configs = [{ targets: ["compute:9300"] }];
      },
      /must find compute by DNS service discovery/,
    ],
    [
      "a shard not scraped",
      (_d, f) => (scrape(f, "ingest").static_configs[0].targets = ["ingest-0:9400", "ingest-1:9401"]),
      /does not scrape ingest-2:9402/,
    ],
    ["gateway not scraped", (_d, f) => (scrape(f, "gateway").static_configs = []), /does not scrape gateway:8080/],
    [
      "compute metrics on loopback",
      (d) => delete d.services.compute.environment.METRICS_HOST,
      /compute: METRICS_HOST must be 0\.0\.0\.0/,
    ],
    [
      "dashboard without lag",
      (_d, f) => {
        for (const dash of Object.values(f.dashboards) as Obj[])
          dash.panels = dash.panels.filter((p: Obj) => !JSON.stringify(p).includes("lag_records"));
      },
      /no panel shows quantcore_compute_lag_records/,
    ],
  ];
  for (const [name, mutate, want] of cases) {
    const d = clone(compose);
    const f = clone(files);
    mutate(d, f);
    const v = checkObservability(d, f as never);
    assert.ok(
      v.some((x) => want.test(x)),
      `${name}: expected a violation matching ${want}, got ${JSON.stringify(v)}`,
    );
  }
  // Publishing is allowed to the profile's services only.
  const d = clone(compose);
  d.services.compute.ports = ["9300:9300"];
  assert.ok(checkCompose(d).some((x) => /compute: publishes ports/.test(x)));
});

test("Terraform satisfies every rule", async () => {
  assert.deepEqual(checkTerraform(await loadTerraform(infra), userData), []);
});

test("each Terraform rule fails on a broken copy", async () => {
  const good = (await loadTerraform(infra)) as Obj;
  const inst = (d: Obj) => d.resource.aws_instance.quantcore[0];
  const sg = (d: Obj) => d.resource.aws_security_group.quantcore[0];
  const cases: [string, (d: Obj) => void, RegExp, string?][] = [
    [
      "instance type default",
      (d) => (d.variable.instance_type[0].default = "t3.micro"),
      /instance_type must default to m5.xlarge/,
    ],
    ["IMDSv1 allowed", (d) => (inst(d).metadata_options[0].http_tokens = "optional"), /IMDSv2 must be required/],
    ["unencrypted root", (d) => (inst(d).root_block_device[0].encrypted = false), /root volume must be encrypted/],
    ["SSH open to the world", (d) => (sg(d).ingress[0].cidr_blocks = ["0.0.0.0/0"]), /0\.0\.0\.0\/0 ingress on 22-22/],
    [
      "Kafka exposed",
      (d) =>
        sg(d).ingress.push({
          from_port: 9092,
          to_port: 9092,
          protocol: "tcp",
          cidr_blocks: "${var.allowed_client_cidrs}",
        }),
      /port 9092 \(Kafka\/Redis\) must not be exposed/,
    ],
    [
      "Redis exposed in a range",
      (d) =>
        sg(d).ingress.push({
          from_port: 6000,
          to_port: 7000,
          protocol: "tcp",
          cidr_blocks: "${var.allowed_client_cidrs}",
        }),
      /port 6379/,
    ],
    ["literal CIDR", (d) => (sg(d).ingress[1].cidr_blocks = ["10.0.0.0/8"]), /must come from a variable/],
    [
      "Prometheus open to clients",
      (d) => {
        const rule = sg(d).ingress.find((r: Obj) => r.from_port === 9090);
        rule.cidr_blocks = "${var.allowed_client_cidrs}";
      },
      /port 9090 is for operators/,
    ],
    [
      "Grafana not opened",
      (d) => (sg(d).ingress = sg(d).ingress.filter((r: Obj) => r.from_port !== 3001)),
      /port 3001 \(observability\) not opened/,
    ],
    [
      "admin CIDR default",
      (d) => (d.variable.allowed_admin_cidrs[0].default = ["0.0.0.0/0"]),
      /must not default to 0\.0\.0\.0\/0/,
    ],
    ["no validation", (d) => delete d.variable.allowed_admin_cidrs[0].validation, /needs a validation/],
    [
      "SSM on everything",
      (d) => (d.data.aws_iam_policy_document.read_secrets[0].statement[0].resources = ["*"]),
      /scoped to the parameter prefix/,
    ],
    ["missing output", (d) => delete d.output.web_url, /output web_url missing/],
    ["secret in user_data", () => {}, /secret-looking literal/, userData + "\nREDIS_PASSWORD=hunter2hunter2\n"],
    ["user_data without SSM", () => {}, /must read secrets from SSM/, "#!/bin/bash\ndocker compose up -d\n"],
  ];
  for (const [name, mutate, want, ud] of cases) {
    const d = clone(good);
    mutate(d);
    const v = checkTerraform(d, ud ?? userData);
    assert.ok(
      v.some((x) => want.test(x)),
      `${name}: expected ${want}, got ${JSON.stringify(v)}`,
    );
  }
});

const hasTerraform = spawnSync("sh", ["-c", "command -v terraform"]).status === 0;
test("terraform fmt -check", { skip: !hasTerraform && "terraform is not installed here" }, () => {
  const r = spawnSync("terraform", ["fmt", "-check", "-recursive", infra], { encoding: "utf8" });
  assert.equal(r.status, 0, `terraform fmt would change: ${r.stdout}`);
});
