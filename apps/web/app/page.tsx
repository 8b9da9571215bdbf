import Dashboard from "../src/Dashboard";

// The gateway URL and token can come from the query string (?gateway=...&token=...), so one
// build serves any environment; NEXT_PUBLIC_GATEWAY_URL is the default.
export default async function Home({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const q = await searchParams;
  const gatewayUrl = q.gateway ?? process.env.NEXT_PUBLIC_GATEWAY_URL ?? "http://127.0.0.1:8080";
  return <Dashboard gatewayUrl={gatewayUrl} token={q.token ?? ""} />;
}
