import ClientDashboard from "../src/ClientDashboard";

// The gateway URL can come from the query string (?gateway=...), so one build serves any
// environment; NEXT_PUBLIC_GATEWAY_URL is the default. The operator token never travels here:
// a ?token= from a demo link is moved into sessionStorage by the page and stripped from the URL.
export default async function Home({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const q = await searchParams;
  const gatewayUrl = q.gateway ?? process.env.NEXT_PUBLIC_GATEWAY_URL ?? "http://127.0.0.1:8080";
  return <ClientDashboard gatewayUrl={gatewayUrl} />;
}
