// Small hooks: re-render on a store's signal, and the current route.
import { useEffect, useReducer, useState } from "preact/hooks";

export function useSignal(subscribe: (l: () => void) => () => void): void {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => subscribe(() => bump()), [subscribe]);
}

export function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, "") || "jobs").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function go(path: string) {
  location.hash = `#/${path}`;
}
