export { createGateway, type Gateway } from "./server.js";
export { DEFAULT_GATEWAY_OPTIONS, type GatewayOptions } from "./options.js";
export { toConnectError } from "./errors.js";
export { loadTokens, type TokenSet } from "./auth.js";
