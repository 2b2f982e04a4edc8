// Builds the console into dist/ (committed; embedded in the videojobs
// binary). Asset names carry a content hash, so the server caches them as
// immutable; no source maps, so the bundle is small and reproducible.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
