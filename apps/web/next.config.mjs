/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // Linting is the monorepo's own (one eslint config, run by turbo), not next build's.
  eslint: { ignoreDuringBuilds: true },
  // Workspace packages export TypeScript source (Turborepo "just-in-time" packages).
  transpilePackages: ["@quantcore/proto"],
  // Imports inside workspace packages use ".js" specifiers for their ".ts" files.
  webpack: (config) => {
    config.resolve.extensionAlias = { ".js": [".ts", ".tsx", ".js"] };
    return config;
  },
};
export default nextConfig;
