// Offline policy checks for the deployment files. Each returns the list of violations, so a
// test can show a rule both holding on the real files and failing on a broken copy.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { parse as parseYaml } from "yaml";
import { OBSERVABILITY_SERVICES } from "./observability.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

export const PUBLIC_SERVICES = ["gateway", "web"];
const ONE_SHOT = ["topics"];

export function loadCompose(file: string): unknown {
  return parseYaml(readFileSync(file, "utf8"), { merge: true });
}

/** Every `*.tf` file of a directory, parsed to JSON and merged by block type. */
export async function loadTerraform(dir: string): Promise<Obj> {
  const merged: Obj = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".tf"))) {
    const json = (await parseHcl(f, readFileSync(path.join(dir, f), "utf8"))) as Obj;
    for (const [k, v] of Object.entries(json)) merged[k] = { ...(merged[k] as Obj | undefined), ...(v as Obj) };
  }
  return merged;
}

export function checkCompose(doc: unknown): string[] {
  const v: string[] = [];
  if (!isObj(doc) || !isObj(doc.services)) return ["compose: no services"];
  const services = doc.services as Record<string, Obj>;
  for (const [name, s] of Object.entries(services)) {
    const image = typeof s.image === "string" ? s.image : undefined;
    if (!image && !s.build) v.push(`${name}: neither image nor build`);
    if (image && (!image.includes(":") || image.endsWith(":latest")))
      v.push(`${name}: image ${image} is not pinned to a tag`);
    const ports = asList(s.ports);
    if (ports.length > 0 && !PUBLIC_SERVICES.includes(name) && !(name in OBSERVABILITY_SERVICES))
      v.push(`${name}: publishes ports ${JSON.stringify(ports)}; only gateway, web and the observability profile may`);
    if (!ONE_SHOT.includes(name) && !isObj(s.healthcheck))
      v.push(`${name}: long-running service without a healthcheck`);
    if (s.depends_on !== undefined) {
      if (!isObj(s.depends_on)) v.push(`${name}: depends_on must use conditions`);
      else
        for (const [dep, cond] of Object.entries(s.depends_on))
          if (!isObj(cond) || typeof cond.condition !== "string") v.push(`${name}: depends_on ${dep} has no condition`);
    }
  }
  for (const name of ["kafka", "redis"]) if (!services[name]) v.push(`${name}: missing`);
  const redis = services.redis;
  if (redis && !JSON.stringify(redis.command ?? "").includes("--requirepass"))
    v.push("redis: no password (--requirepass)");
  const compute = services.compute;
  if (!compute) v.push("compute: missing");
  else {
    if (compute.container_name !== undefined) v.push("compute: container_name prevents --scale");
    if (asList(compute.ports).length > 0) v.push("compute: host ports prevent --scale");
  }
  const topics = services.topics;
  const cmd = topics ? asList(topics.command).map(String).join(" ").replace(/\s+/g, " ") : "";
  if (!/--topic order_book --partitions 30\b/.test(cmd)) v.push("topics: must create order_book with 30 partitions");
  if (!/--topic order_book\.dlq\b/.test(cmd)) v.push("topics: must create the dead-letter topic order_book.dlq");
  for (const [name, s] of Object.entries(services)) {
    const deps = isObj(s.depends_on) ? s.depends_on : {};
    if (name !== "topics" && "kafka" in deps && !("topics" in deps))
      v.push(`${name}: uses Kafka but does not wait for the topics job`);
    if ("topics" in deps && (deps.topics as Obj).condition !== "service_completed_successfully")
      v.push(`${name}: must wait for topics to complete successfully`);
  }
  return v;
}

const ADMIN_AND_DATA_PORTS = [22, 9092, 9093, 6379, ...Object.values(OBSERVABILITY_SERVICES)];
/** Operator-only ports (SSH, Prometheus, Grafana): open to the admin CIDRs and nobody else. */
const ADMIN_ONLY_PORTS = [22, ...Object.values(OBSERVABILITY_SERVICES)];
const NEVER_EXPOSED = [9092, 9093, 6379];
const SECRET_RE = /(password|secret|token|api[_-]?key)\s*[=:]\s*["']?[A-Za-z0-9/+_-]{6,}/i;

const blocks = (tf: Obj, kind: string, type: string): [string, Obj][] => {
  const group = (tf[kind] as Obj | undefined)?.[type] as Record<string, unknown> | undefined;
  return Object.entries(group ?? {}).map(([n, b]) => [n, asList(b)[0] as Obj]);
};

export function checkTerraform(tf: Obj, userData = ""): string[] {
  const v: string[] = [];
  const vars = Object.fromEntries(
    Object.entries((tf.variable as Obj | undefined) ?? {}).map(([k, b]) => [k, asList(b)[0] as Obj]),
  );
  if (vars.instance_type?.default !== "m5.xlarge") v.push("variable instance_type must default to m5.xlarge");
  for (const name of ["region", "allowed_admin_cidrs", "allowed_client_cidrs"])
    if (!vars[name]) v.push(`variable ${name} missing`);
  if (JSON.stringify(vars.allowed_admin_cidrs?.default ?? "").includes("0.0.0.0/0"))
    v.push("allowed_admin_cidrs must not default to 0.0.0.0/0");
  if (!JSON.stringify(vars.allowed_admin_cidrs?.validation ?? "").includes("0.0.0.0/0"))
    v.push("allowed_admin_cidrs needs a validation rejecting 0.0.0.0/0");

  const instances = blocks(tf, "resource", "aws_instance");
  if (instances.length === 0) v.push("no aws_instance");
  for (const [n, i] of instances) {
    const md = asList(i.metadata_options)[0] as Obj | undefined;
    if (md?.http_tokens !== "required")
      v.push(`aws_instance.${n}: IMDSv2 must be required (metadata_options.http_tokens)`);
    const root = asList(i.root_block_device)[0] as Obj | undefined;
    if (root?.encrypted !== true) v.push(`aws_instance.${n}: root volume must be encrypted`);
    if (!String(i.iam_instance_profile ?? "").includes("aws_iam_instance_profile"))
      v.push(`aws_instance.${n}: needs the instance profile`);
  }
  if (SECRET_RE.test(userData)) v.push("user_data contains a secret-looking literal");
  if (userData && !/aws ssm get-parameter/.test(userData)) v.push("user_data must read secrets from SSM");

  for (const [n, sg] of blocks(tf, "resource", "aws_security_group")) {
    for (const rule of asList(sg.ingress) as Obj[]) {
      const from = Number(rule.from_port);
      const to = Number(rule.to_port);
      const cidrs = JSON.stringify(rule.cidr_blocks ?? []);
      const covers = (p: number) => from <= p && p <= to;
      if (ADMIN_AND_DATA_PORTS.some(covers) && cidrs.includes("0.0.0.0/0"))
        v.push(`aws_security_group.${n}: 0.0.0.0/0 ingress on ${from}-${to}`);
      for (const p of NEVER_EXPOSED)
        if (covers(p)) v.push(`aws_security_group.${n}: port ${p} (Kafka/Redis) must not be exposed`);
      for (const p of ADMIN_ONLY_PORTS)
        if (covers(p) && cidrs !== '"${var.allowed_admin_cidrs}"')
          v.push(`aws_security_group.${n}: port ${p} is for operators: only var.allowed_admin_cidrs, got ${cidrs}`);
      if (!/^"\$\{var\.[a-z_]+\}"$/.test(cidrs))
        v.push(`aws_security_group.${n}: ingress ${from}-${to} CIDRs must come from a variable, got ${cidrs}`);
    }
  }

  const docs = blocks(tf, "data", "aws_iam_policy_document");
  const policy = JSON.stringify(docs.find(([n]) => n === "read_secrets")?.[1] ?? {});
  if (!policy.includes("ssm:GetParameter")) v.push("the host role must be allowed to read its SSM parameters");
  if (!/parameter\$\{var\.ssm_parameter_prefix\}\/\*/.test(policy))
    v.push("SSM permission must be scoped to the parameter prefix");
  if (/"resources":\["\*"\]/.test(policy)) v.push("SSM permission must not be on *");

  const outputs = Object.keys((tf.output as Obj | undefined) ?? {});
  const opened = new Set(
    blocks(tf, "resource", "aws_security_group").flatMap(([, sg]) =>
      (asList(sg.ingress) as Obj[]).map((r) => Number(r.from_port)),
    ),
  );
  for (const p of Object.values(OBSERVABILITY_SERVICES))
    if (!opened.has(p)) v.push(`security group: port ${p} (observability) not opened to the admin CIDRs`);
  for (const o of ["instance_id", "public_dns", "gateway_grpc_url", "web_url"])
    if (!outputs.includes(o)) v.push(`output ${o} missing`);
  return v;
}
