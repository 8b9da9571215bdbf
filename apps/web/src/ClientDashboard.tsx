"use client";
// The dashboard runs in the browser only: its token comes from sessionStorage, its data from a
// stream, so there is nothing useful to render on the server.
import dynamic from "next/dynamic";

const Dashboard = dynamic(() => import("./Dashboard"), {
  ssr: false,
  loading: () => <p style={{ padding: 16 }}>Loading the dashboard…</p>,
});

export default function ClientDashboard({ gatewayUrl }: { gatewayUrl: string }) {
  return <Dashboard key={gatewayUrl} gatewayUrl={gatewayUrl} />;
}
