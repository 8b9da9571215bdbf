// Bundles an app's entry points (default src/main.ts) into dist/<name>.mjs, as images run them:
// the workspace packages (TypeScript source) are compiled in; npm dependencies and node builtins
// stay external and load from node_modules. Plain node then runs the app, without tsx's loader
// thread and on-the-fly transpiling (about 45 MB less RSS for the gateway).
// Usage, from an app's directory: node ../../scripts/bundle.mjs [src/other.ts ...]
import { build } from "esbuild";

const entryPoints = ["src/main.ts", ...process.argv.slice(2)];
await build({
  entryPoints,
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "npm-external",
      setup(b) {
        // Bare specifiers other than our own workspace packages: npm packages and node builtins.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith("@quantcore/") ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
