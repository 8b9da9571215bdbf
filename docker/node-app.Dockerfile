# One image recipe for every Node service (ingest, compute, gateway).
#   docker build -f docker/node-app.Dockerfile --build-arg APP=@quantcore/app-gateway --build-arg APP_DIR=apps/gateway .
# `turbo prune` cuts the monorepo down to the app and the workspace packages it uses, so the
# install layer only changes when those change.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

FROM ${NODE_IMAGE} AS prune
WORKDIR /src
COPY . .
ARG APP
RUN npx --yes turbo@2.11.11 prune "${APP}" --docker

FROM ${NODE_IMAGE} AS install
WORKDIR /app
COPY --from=prune /src/out/json/ .
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY --from=prune /src/out/full/ .
COPY tsconfig.base.json ./
COPY scripts/bundle.mjs scripts/
ARG APP
# One bundle per entry point (dist/*.mjs): the workspace's TypeScript compiled in, npm packages external.
RUN npm run build -w "${APP}"

FROM ${NODE_IMAGE} AS run
ENV NODE_ENV=production
WORKDIR /app
COPY --from=install --chown=node:node /app .
USER node
ARG APP_DIR
ENV APP_DIR=${APP_DIR}
# Plain node on the bundle: no transpiling loader at run time (less memory, faster start).
CMD ["sh", "-c", "exec node --enable-source-maps \"$APP_DIR/dist/main.mjs\""]
