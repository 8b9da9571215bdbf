import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ControlService } from "@quantcore/proto";
import { QuantCoreError, SYMBOL_PATTERN, parseJson, s } from "@quantcore/runtime";

export type Role = "bot" | "operator";

export interface TokenSet {
  operators: string[];
  bots: string[];
}

const tokenList = () => s.optional(s.array(s.string({ minLength: 1 })));
/** GATEWAY_TOKENS_FILE: {"operators": [...], "bots": [...]}, both optional, nothing else. */
export const tokensFileSchema = s.object({ operators: tokenList(), bots: tokenList() }, { strict: true });

/**
 * Tokens come from the environment or a file (JSON {"operators": [...], "bots": [...]}), never the
 * repo. A malformed file throws (invalid_argument) naming the file and the field, so the gateway
 * stops at start instead of running with tokens nobody meant.
 */
export function loadTokens(env: { operatorTokens?: string[]; botTokens?: string[]; tokensFile?: string }): TokenSet {
  const set: TokenSet = { operators: [...(env.operatorTokens ?? [])], bots: [...(env.botTokens ?? [])] };
  if (env.tokensFile) {
    const source = `GATEWAY_TOKENS_FILE ${env.tokensFile}`;
    let text: string;
    try {
      text = readFileSync(env.tokensFile, "utf8");
    } catch (err) {
      throw new QuantCoreError("invalid_argument", `${source}: ${err instanceof Error ? err.message : String(err)}`, {
        retriable: false,
        cause: err,
      });
    }
    const f = parseJson(tokensFileSchema, text, source);
    set.operators.push(...(f.operators ?? []));
    set.bots.push(...(f.bots ?? []));
  }
  return set;
}

const digest = (token: string) => createHash("sha256").update(token, "utf8").digest();

/**
 * Compares a presented token with every configured one in constant time (equal-length digests,
 * timingSafeEqual, no early exit), so response time says nothing about how much of a token matched.
 */
class TokenMatcher {
  private readonly entries: { digest: Buffer; role: Role }[];
  constructor(tokens: TokenSet) {
    this.entries = [
      ...tokens.operators.filter((t) => t.length > 0).map((t) => ({ digest: digest(t), role: "operator" as const })),
      ...tokens.bots.filter((t) => t.length > 0).map((t) => ({ digest: digest(t), role: "bot" as const })),
    ];
  }

  roleOf(token: string): Role | undefined {
    const d = digest(token);
    let role: Role | undefined;
    for (const e of this.entries) {
      // An operator token wins over the same string listed as a bot token.
      if (timingSafeEqual(d, e.digest) && role !== "operator") role = e.role;
    }
    return role;
  }
}

/** RFC 7235: the auth scheme is case-insensitive ("Bearer", "bearer", "BEARER"). */
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

const OPERATOR_ACTIONS = new Set(["StartReplay", "StopReplay", "ForceResync"]);

/**
 * Bearer-token auth for the control plane: no or unknown token -> UNAUTHENTICATED; a bot's token
 * on an operator action -> PERMISSION_DENIED. The market-data service stays open to bots.
 */
export function authInterceptor(tokens: TokenSet): Interceptor {
  const matcher = new TokenMatcher(tokens);
  return (next) => async (req) => {
    if (req.service.typeName !== ControlService.typeName) return next(req);
    const token = BEARER.exec(req.header.get("authorization") ?? "")?.[1];
    const role = token ? matcher.roleOf(token) : undefined;
    if (!role) throw new ConnectError("a valid bearer token is required", Code.Unauthenticated);
    if (OPERATOR_ACTIONS.has(req.method.name) && role !== "operator") {
      throw new ConnectError(`${req.method.name} needs an operator token`, Code.PermissionDenied);
    }
    return next(req);
  };
}

const universeFileSchema = s.object({ symbols: s.array(s.string({ pattern: SYMBOL_PATTERN })) });

/**
 * The universe file ingest shards by (apps/ingest/universe.json: `{"symbols": [...]}` or a bare
 * array), read by the gateway as the symbols it knows up front. Malformed: throws naming the field.
 */
export function loadUniverse(file: string): string[] {
  const source = `GATEWAY_UNIVERSE_FILE ${file}`;
  const text = readFileSync(file, "utf8");
  const array = text.trimStart().startsWith("[");
  return array
    ? parseJson(s.array(s.string({ pattern: SYMBOL_PATTERN })), text, source)
    : parseJson(universeFileSchema, text, source).symbols;
}
