/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // Workspace packages export TypeScript source (Turborepo "just-in-time" packages).
  transpilePackages: ["@quantcore/proto"],
};
export default nextConfig;
