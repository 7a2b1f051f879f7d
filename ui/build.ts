import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

/**
 * Builds the dashboard into `outDir` (default dist/ui, what the server serves at /ui): the page, its style sheet
 * and one bundled ES module of ui/src. Run by `npm run build:ui`, by `npm ci` (prepare), by scripts/test before the
 * server tier, and by the Dockerfile's dashboard stage.
 */
const UI_DIR = __dirname;
export const DEFAULT_OUT_DIR = path.resolve(UI_DIR, "../dist/ui");

export async function buildDashboard(outDir: string = DEFAULT_OUT_DIR): Promise<string[]> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(UI_DIR, "src/main.ts")],
    outfile: path.join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    minify: false,
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"]) copyFileSync(path.join(UI_DIR, file), path.join(outDir, file));
  return ["index.html", "style.css", "app.js", "app.js.map"].map((f) => path.join(outDir, f));
}

if (require.main === module) {
  buildDashboard(process.argv[2] ? path.resolve(process.argv[2]) : undefined).then(
    (files) => console.log(`dashboard built: ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
