// Worker threads do not inherit tsx's loader: register it, then load the TypeScript clients.
import { register } from "tsx/esm/api";

register();
await import("./gateway-clients.ts");
