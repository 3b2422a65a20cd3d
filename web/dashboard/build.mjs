// Bundles the dashboard into OUTDIR (index.html, app.js, app.css) with
// esbuild from node_modules (installed by `npm ci` from package-lock.json;
// scripts/install-deps.sh). CMake embeds OUTDIR in the binary
// (src/http/embed.cmake).
//   node build.mjs OUTDIR
import { existsSync, mkdirSync, rmSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
if (!existsSync(join(here, 'node_modules', 'esbuild'))) {
  console.error(`dashboard: ${join(here, 'node_modules')} lacks esbuild: run scripts/install-deps.sh ` +
    '(it runs npm ci in web/dashboard from package-lock.json)');
  process.exit(1);
}
const { build } = await import('esbuild');
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { app: join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(outdir, 'index.html'));
