export { createGateway, type Gateway } from "./server.js";
export { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from "./options.js";
export { toConnectError } from "./errors.js";
export { loadTokens, loadUniverse, type TokenSet } from "./auth.js";
