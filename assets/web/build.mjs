// Builds the page's CSS and JavaScript from the pinned Scottish Government Design System:
//   npm ci --ignore-scripts && node build.mjs
// Writes bot/web/static/ds.css (only the components the page uses, compressed) and
// bot/web/static/app.js (the design system's checkbox behaviour and our enhancements, one file).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "bot", "web", "static");
const ds = JSON.parse(readFileSync(join(here, "node_modules", "@scottish-government", "design-system", "package.json")));
const banner = `/* Scottish Government Design System ${ds.version} (MIT licence, see ds-LICENCE.txt), built by assets/web/build.mjs */`;

const css = sass.compile(join(here, "site.scss"), {
  style: "compressed",
  loadPaths: [join(here, "node_modules")],
  silenceDeprecations: ["import", "global-builtin"],
  quietDeps: true,
});
writeFileSync(join(out, "ds.css"), banner + "\n" + css.css + "\n");

await esbuild.build({
  entryPoints: [join(here, "enhance.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  banner: { js: banner },
  outfile: join(out, "app.js"),
  legalComments: "none",
});
writeFileSync(
  join(out, "ds-LICENCE.txt"),
  readFileSync(join(here, "node_modules", "@scottish-government", "design-system", "LICENSE.txt")),
);
