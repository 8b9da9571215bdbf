// Offline checks for the `observability` compose profile: Prometheus scrapes every service (compute
// through DNS service discovery, so scaled replicas are all found), Grafana is provisioned with the
// pipeline dashboard, and both stay operator-only (a profile, never started by default).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Services that publish ports for operators only, with the host port each uses. */
export const OBSERVABILITY_SERVICES: Readonly<Record<string, number>> = { prometheus: 9090, grafana: 3001 };
export const INGEST_METRICS_PORT = 9400;
export const COMPUTE_METRICS_PORT = 9300;

export interface ObservabilityFiles {
  prometheus: unknown;
  /** Grafana dashboards by file name (parsed JSON). */
  dashboards: Record<string, unknown>;
}

export function loadObservability(root: string): ObservabilityFiles {
  const dir = path.join(root, "docker/observability");
  const dashDir = path.join(dir, "grafana/dashboards");
  return {
    prometheus: parseYaml(readFileSync(path.join(dir, "prometheus.yml"), "utf8")),
    dashboards: Object.fromEntries(
      readdirSync(dashDir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => [f, JSON.parse(readFileSync(path.join(dashDir, f), "utf8")) as unknown]),
    ),
  };
}

const envOf = (s: Obj): Obj => (isObj(s.environment) ? s.environment : {});

export function checkObservability(compose: unknown, files: ObservabilityFiles): string[] {
  const v: string[] = [];
  const services = (isObj(compose) && isObj(compose.services) ? compose.services : {}) as Record<string, Obj>;
  for (const [name, port] of Object.entries(OBSERVABILITY_SERVICES)) {
    const s = services[name];
    if (!s) {
      v.push(`${name}: missing (observability profile)`);
      continue;
    }
    if (!asList(s.profiles).includes("observability"))
      v.push(`${name}: must be in the observability profile (operators opt in)`);
    if (!asList(s.ports).some((p) => String(p).startsWith(`${port}:`)))
      v.push(`${name}: must publish host port ${port} (the port the host opens to admin CIDRs)`);
  }
  const grafanaMounts = JSON.stringify(services.grafana?.volumes ?? []);
  if (!grafanaMounts.includes("/etc/grafana/provisioning"))
    v.push("grafana: provisioning (datasource, dashboards) not mounted");

  // Scrape targets: what each job names, by host.
  const jobs = asList(isObj(files.prometheus) ? files.prometheus.scrape_configs : []) as Obj[];
  const staticTargets = new Set<string>();
  const dnsNames = new Map<string, number>();
  for (const j of jobs) {
    for (const sc of asList(j.static_configs) as Obj[])
      for (const t of asList(sc.targets)) staticTargets.add(String(t));
    for (const d of asList(j.dns_sd_configs) as Obj[])
      for (const n of asList(d.names)) dnsNames.set(String(n), Number(d.port));
  }
  for (const [name, s] of Object.entries(services)) {
    const shard = /^ingest-(\d+)$/.exec(name);
    if (shard) {
      const want = `${name}:${INGEST_METRICS_PORT + Number(shard[1])}`;
      if (!staticTargets.has(want)) v.push(`prometheus: does not scrape ${want}`);
      if (envOf(s).METRICS_HOST !== "0.0.0.0") v.push(`${name}: METRICS_HOST must be 0.0.0.0 to be scraped`);
    }
  }
  for (const name of ["compute", "replay"]) {
    if (!services[name]) continue;
    // A static target would find one replica of `--scale compute=N`: DNS finds them all.
    if (dnsNames.get(name) !== COMPUTE_METRICS_PORT)
      v.push(`prometheus: must find ${name} by DNS service discovery on port ${COMPUTE_METRICS_PORT}`);
    if (envOf(services[name]!).METRICS_HOST !== "0.0.0.0")
      v.push(`${name}: METRICS_HOST must be 0.0.0.0 to be scraped`);
  }
  const gwPort = String(envOf(services.gateway ?? {}).GATEWAY_HTTP_PORT ?? "8080");
  if (!staticTargets.has(`gateway:${gwPort}`)) v.push(`prometheus: does not scrape gateway:${gwPort}`);

  // The dashboard shows every stage of the pipeline.
  const exprs = Object.values(files.dashboards).flatMap((d) =>
    (asList(isObj(d) ? d.panels : []) as Obj[]).flatMap((p) => (asList(p.targets) as Obj[]).map((t) => String(t.expr))),
  );
  if (exprs.length === 0) v.push("grafana: no provisioned dashboard with panels");
  for (const stage of [
    "quantcore_ingest_",
    "quantcore_compute_",
    "quantcore_gateway_",
    "quantcore_compute_lag_records",
  ])
    if (!exprs.some((e) => e.includes(stage))) v.push(`grafana: no panel shows ${stage}*`);
  return v;
}
