import { readFileSync } from "node:fs";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ControlService } from "@quantcore/proto";

export type Role = "bot" | "operator";

export interface TokenSet {
  operators: string[];
  bots: string[];
}

/** Tokens come from the environment or a file (JSON {"operators": [...], "bots": [...]}), never the repo. */
export function loadTokens(env: { operatorTokens?: string[]; botTokens?: string[]; tokensFile?: string }): TokenSet {
  const set: TokenSet = { operators: [...(env.operatorTokens ?? [])], bots: [...(env.botTokens ?? [])] };
  if (env.tokensFile) {
    const f = JSON.parse(readFileSync(env.tokensFile, "utf8")) as Partial<TokenSet>;
    set.operators.push(...(f.operators ?? []));
    set.bots.push(...(f.bots ?? []));
  }
  return set;
}

const OPERATOR_ACTIONS = new Set(["StartReplay", "StopReplay", "ForceResync"]);

/**
 * Bearer-token auth for the control plane: no or unknown token -> UNAUTHENTICATED; a bot's token
 * on an operator action -> PERMISSION_DENIED. The market-data service stays open to bots.
 */
export function authInterceptor(tokens: TokenSet): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName !== ControlService.typeName) return next(req);
    const header = req.header.get("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    const role: Role | undefined = tokens.operators.includes(token)
      ? "operator"
      : tokens.bots.includes(token)
        ? "bot"
        : undefined;
    if (!token || !role) throw new ConnectError("a valid bearer token is required", Code.Unauthenticated);
    if (OPERATOR_ACTIONS.has(req.method.name) && role !== "operator") {
      throw new ConnectError(`${req.method.name} needs an operator token`, Code.PermissionDenied);
    }
    return next(req);
  };
}
