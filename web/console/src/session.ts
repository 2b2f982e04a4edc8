// Who is signed in: a bearer token kept for this tab only (sessionStorage),
// taken from a `videojobs console` link's fragment (#token=…, which the
// browser never sends to the server) or pasted. Its payload is read for the
// user's name, role and expiry; the server alone verifies it.
export interface Claims { sub: string; exp: number; roles: string[] }

const KEY = "videojobs.token";
type Listener = () => void;
const listeners = new Set<Listener>();
let current: string | null = null;
let claims: Claims | null = null;
let expiredBecause = "";

function decode(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const value = JSON.parse(json);
    if (typeof value.sub !== "string") return null;
    return { sub: value.sub, exp: Number(value.exp) || 0, roles: Array.isArray(value.roles) ? value.roles : [] };
  } catch {
    return null;
  }
}

function notify() { for (const l of listeners) l(); }

export const session = {
  /** Reads a token from the URL fragment (then removes it) or the tab's storage. */
  start() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search + "#/jobs");
    }
    const stored = sessionStorage.getItem(KEY);
    if (stored) this.signIn(stored, false);
  },
  /** A pasted token; returns why it was refused, or "" when it looks like one. */
  signIn(token: string, store = true): string {
    const trimmed = token.trim().replace(/^Bearer\s+/i, "");
    const read = decode(trimmed);
    if (!read) return "That does not look like a videojobs token (three parts separated by dots).";
    if (read.exp && read.exp * 1000 < Date.now()) return "That token has expired; ask for a new one (videojobs console or videojobs token).";
    current = trimmed;
    claims = read;
    expiredBecause = "";
    if (store) sessionStorage.setItem(KEY, trimmed);
    notify();
    return "";
  },
  signOut(reason = "") {
    sessionStorage.removeItem(KEY);
    current = null;
    claims = null;
    expiredBecause = reason;
    notify();
  },
  expire(message: string) {
    if (current) this.signOut(`You were signed out: the server refused your token (${message || "unauthenticated"}). Sign in again.`);
  },
  token: () => current,
  claims: () => claims,
  isAdmin: () => !!claims?.roles.includes("admin"),
  reason: () => expiredBecause,
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
