// The npm registry reachable from the desk's build machines serves only the platform packages
// this appliance uses (linux-x64); optional native packages for other platforms (rollup,
// esbuild) answer 404, so npm leaves them out of package-lock.json while still listing them as
// optionalDependencies, and `npm ci` then calls the lock out of sync. This drops those dangling
// names so `npm ci` installs exactly what the lock holds. Idempotent; build/setup runs it.
import fs from 'node:fs';

const file = process.argv[2] ?? new URL('../package-lock.json', import.meta.url).pathname;
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
let removed = 0;
for (const [path, pkg] of Object.entries(lock.packages ?? {})) {
  if (!pkg.optionalDependencies) continue;
  for (const dep of Object.keys(pkg.optionalDependencies)) {
    const nested = (path ? `${path}/` : '') + `node_modules/${dep}`;
    if (!lock.packages[nested] && !lock.packages[`node_modules/${dep}`]) {
      delete pkg.optionalDependencies[dep];
      removed++;
    }
  }
  if (Object.keys(pkg.optionalDependencies).length === 0) delete pkg.optionalDependencies;
}
if (removed > 0) {
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
  console.log(`prune-lock: dropped ${removed} optional packages the registry does not serve`);
}
