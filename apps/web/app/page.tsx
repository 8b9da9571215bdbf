export default function Home() {
  return (
    <main style={{ padding: 24 }}>
      <h1>QuantCore</h1>
      <p>Operator dashboard: live OBI heatmap, shard health and latency layers arrive with the dashboard issue.</p>
    </main>
  );
}
