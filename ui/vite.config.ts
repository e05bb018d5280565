import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The web UI, built into dist/ui and served by the server at /ui/ (src/http/routes/ui-static.ts).
// No CDN, no external fonts, nothing inline: the page runs under a strict Content-Security-Policy.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  // Preact's automatic JSX runtime, without a plugin: nothing but Vite's own transform.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../dist/ui",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
