// The operator token: asked once, held in sessionStorage (this tab only), never left in the URL.
// A demo link may carry ?token= once: it is stored and stripped from the address bar.

const KEY = "quantcore.token";

export function takeTokenFromUrl(): string {
  if (typeof window === "undefined") return "";
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl !== null) {
    if (fromUrl) window.sessionStorage.setItem(KEY, fromUrl);
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  return window.sessionStorage.getItem(KEY) ?? "";
}

export function saveToken(token: string): void {
  if (token) window.sessionStorage.setItem(KEY, token);
  else window.sessionStorage.removeItem(KEY);
}
