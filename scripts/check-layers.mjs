// Dependency direction, denied by default (STYLE.md §2–3). Every source file belongs to a zone;
// a zone may import only the zones and npm packages listed for it. A violation names the fix.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Zones, most specific first: [zone, path prefix]. */
const zones = [
  ['contract', 'core/api/contract.ts'],
  ['contract', 'core/api/contract/'],
  ['contract', 'core/api/client.ts'],
  ['shared', 'core/errors.ts'],
  ['shared', 'core/log.ts'],
  ['shared', 'core/net.ts'],
  ['shared', 'core/node-flags.ts'],
  ['shared', 'core/pacing.ts'],
  // Where Sluice's own files are in each layout (source, compiled, Electron, installer).
  ['shared', 'core/resources.ts'],
  // Pure, browser-safe schemas and helpers that the engine, the adapters and the renderer share.
  ['schema', 'core/schema/'],
  ['store', 'core/store/'],
  // Sparkplug B: payload codec and the state tracked from spBv1.0 traffic (docs/sparkplug.md).
  ['sparkplug', 'core/sparkplug/'],
  ['engine', 'core/engine/'],
  ['security', 'core/security/'],
  // The service's handlers by area, behind the core/api/service.ts facade: the api layer's rules, no wider.
  ['api', 'core/api/service/'],
  ['api', 'core/api/'],
  ['mqtt', 'core/protocols/mqtt/'],
  ['amqp', 'core/protocols/amqp/'],
  ['http', 'core/protocols/http/'],
  // HTTP push consumers: the client side of HTTP, an adapter over the engine (docs/push.md).
  ['push', 'core/protocols/push/'],
  ['mcp', 'core/protocols/mcp/'],
  ['bridges', 'core/bridges/'],
  ['demo', 'core/demo/'],
  // The CLI's client commands: contract calls over HTTP, nothing of the broker itself.
  ['cli', 'core/cli/'],
  ['host', 'core/'],
  ['electron', 'electron/'],
  ['renderer', 'renderer/'],
  ['tooling', 'test/'],
  ['tooling', 'bench/'],
  ['tooling', 'scripts/'],
  ['tooling', 'bin/'],
];

/** Which zones each zone may import. */
const allowedZones = {
  shared: ['shared'],
  schema: ['shared', 'schema'],
  store: ['shared', 'store'],
  engine: ['shared', 'schema', 'store', 'engine'],
  security: ['shared', 'schema', 'store', 'engine', 'security'],
  contract: ['shared', 'schema', 'contract'],
  sparkplug: ['shared', 'contract', 'sparkplug'],
  api: ['shared', 'schema', 'engine', 'security', 'contract', 'api', 'demo', 'sparkplug'],
  mqtt: ['shared', 'schema', 'engine', 'security', 'contract', 'api', 'store', 'mqtt'],
  amqp: ['shared', 'schema', 'engine', 'security', 'contract', 'api', 'amqp'],
  http: ['shared', 'schema', 'engine', 'security', 'contract', 'api', 'http'],
  // The MCP door calls the service in-process (/mcp on the HTTP listener) and the HTTP API as a client (stdio).
  mcp: ['shared', 'schema', 'security', 'contract', 'api', 'mcp'],
  bridges: ['shared', 'schema', 'engine', 'bridges'],
  push: ['shared', 'schema', 'engine', 'store', 'push'],
  demo: ['shared', 'schema', 'contract', 'demo'],
  cli: ['shared', 'schema', 'contract', 'cli'],
  host: [
    'shared',
    'schema',
    'store',
    'engine',
    'security',
    'contract',
    'api',
    'mqtt',
    'amqp',
    'http',
    'push',
    'mcp',
    'bridges',
    'demo',
    'cli',
    'sparkplug',
    'host',
  ],
  electron: ['shared', 'schema', 'contract', 'host', 'electron'],
  renderer: ['shared', 'schema', 'contract', 'renderer'],
  tooling: zones.map(([zone]) => zone),
};

/** npm packages that belong to one layer only; any other package is free to all. */
const ownedPackages = {
  'better-sqlite3': ['store', 'tooling'],
  aedes: ['mqtt'],
  'aedes-persistence': ['mqtt', 'tooling'],
  rhea: ['amqp', 'bridges', 'demo', 'tooling'],
  mqtt: ['bridges', 'demo', 'tooling'],
  kafkajs: ['bridges', 'tooling'],
  electron: ['electron'],
  react: ['renderer'],
  'react-dom': ['renderer'],
  '@modelcontextprotocol/sdk': ['mcp', 'tooling'],
  protobufjs: ['sparkplug', 'tooling'],
};

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const zoneOf = (file) => zones.find(([, prefix]) => file === prefix || file.startsWith(prefix))?.[0];

function sources(dir) {
  let entries;
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'out') return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|tsx|mts|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
/** Relative imports of the product's code (core, electron, renderer), for the import-circle check. */
const graph = new Map();
const product = (file) => /^(core|electron|renderer)\//.test(file) && !/\.test\.tsx?$/.test(file);
for (const file of ['core', 'electron', 'renderer', 'test', 'bench', 'scripts', 'bin'].flatMap(sources)) {
  const zone = zoneOf(file);
  if (!zone) {
    problems.push(`${file}: belongs to no zone; add it to the zones table in scripts/check-layers.mjs`);
    continue;
  }
  const text = readFileSync(join(root, file), 'utf8');
  for (const match of text.matchAll(importPattern)) {
    const spec = match[1] ?? match[2];
    if (spec.startsWith('.')) {
      const target = relative(root, resolve(root, dirname(file), spec));
      if (product(file) && product(target)) graph.set(file, [...(graph.get(file) ?? []), target]);
      const targetZone = zoneOf(target);
      if (targetZone && !allowedZones[zone].includes(targetZone))
        problems.push(
          `${file}: the ${zone} layer may not import ${target} (${targetZone}); ` +
            `depend on ${allowedZones[zone].join(', ')} only, or move the shared piece down a layer`,
        );
    } else if (!spec.startsWith('node:')) {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const owners = ownedPackages[pkg];
      if (owners && !owners.includes(zone))
        problems.push(`${file}: ${pkg} belongs to the ${owners[0]} layer; go through that layer instead`);
    }
  }
}
// No import circles in the product's code, type-only imports included: two modules that need each
// other are one concept, or share a piece that belongs in a file of its own (core/engine/context.ts).
const visiting = new Set();
const visited = new Set();
const circle = (file, path) => {
  visiting.add(file);
  for (const target of graph.get(file) ?? []) {
    if (visiting.has(target))
      problems.push(
        `import circle: ${[...path.slice(path.indexOf(target)), target].join(' → ')}; ` +
          'move what they share into a file of its own',
      );
    else if (!visited.has(target)) circle(target, [...path, target]);
  }
  visiting.delete(file);
  visited.add(file);
};
for (const file of graph.keys()) if (!visited.has(file)) circle(file, [file]);

if (problems.length > 0) {
  console.error(`Layer check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
