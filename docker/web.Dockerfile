# The Next.js dashboard.
#   docker build -f docker/web.Dockerfile .
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

FROM ${NODE_IMAGE} AS prune
WORKDIR /src
COPY . .
RUN npx --yes turbo@2.11.11 prune @quantcore/web --docker

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=prune /src/out/json/ .
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY --from=prune /src/out/full/ .
COPY tsconfig.base.json ./
ARG NEXT_PUBLIC_GATEWAY_URL=http://localhost:8080
ENV NEXT_PUBLIC_GATEWAY_URL=${NEXT_PUBLIC_GATEWAY_URL}
RUN npx next build apps/web

FROM ${NODE_IMAGE} AS run
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app .
USER node
EXPOSE 3000
CMD ["npx", "next", "start", "apps/web", "-p", "3000"]
