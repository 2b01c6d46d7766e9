// Builds the console into the Python package (src/kizuna/service/console), which the node serves at `/`.
// Cesium's static files (web workers, the NaturalEarthII imagery, widget styles) are copied next to
// the bundle, so the page never asks anything of another host.
import { cpSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vite";

const out = resolve(__dirname, "../src/kizuna/service/console");
const cesium = resolve(__dirname, "node_modules/cesium/Build/Cesium");

function copyCesium() {
  return {
    name: "copy-cesium-assets",
    closeBundle() {
      for (const part of ["Workers", "Assets", "ThirdParty", "Widgets"]) {
        rmSync(resolve(out, "cesium", part), { recursive: true, force: true });
        cpSync(resolve(cesium, part), resolve(out, "cesium", part), { recursive: true });
      }
    },
  };
}

export default defineConfig({
  base: "/",
  build: {
    outDir: out,
    emptyOutDir: true,
    chunkSizeWarningLimit: 8000,
    sourcemap: false,
  },
  worker: { format: "es" },
  plugins: [copyCesium()],
});
