import type { ReactNode } from "react";

export const metadata = { title: "QuantCore", description: "Live order book imbalance" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: 0, background: "#0b0f14", color: "#e6edf3" }}>
        {children}
      </body>
    </html>
  );
}
