"use strict";
/**
 * Preloaded (`node --require`) into the Node processes of a Pulumi run: the program (Pulumi.yaml's nodeargs), the
 * policy pack (policies/PulumiPolicy.yaml's) and the dynamic providers (scripts/toolchain/pulumi-resource-pulumi-nodejs);
 * and imported first by the server (server/main.ts), whose Automation API is @pulumi/pulumi too.
 *
 * Loading @pulumi/pulumi (3.248) loads TypeScript, for closure serialization (runtime/closure/parseFunction), and
 * @npmcli/arborist with pacote and sigstore, for computeCodePaths: each process paid for both at start, in memory and
 * time (docs/BENCHMARKS.md, section timeline). Only the program serializes closures, and no process of ours calls
 * computeCodePaths. So when @pulumi/pulumi asks for one of them, it gets a stand-in that loads the real module at its
 * first use, and the processes that never use it never load it.
 *
 * Plain CommonJS, not built: it runs before anything else of the process, TypeScript loaders included.
 */
const Module = require("node:module");
const path = require("node:path");

/**
 * How each deferred module is used by @pulumi/pulumi. "namespace": only through its properties (`ts.createSourceFile`),
 * so one stand-in for the whole module will do. A list of names: copied out at once by an eager `__importStar`
 * (codePaths.js), so each export gets its own stand-in; the list is the module's own (tests/unit/sdk-lazy-requires.test.ts).
 */
const DEFERRED = {
  typescript: "namespace",
  "@npmcli/arborist": ["Arborist", "Node", "Link", "Edge", "Shrinkwrap"],
};

const TSX_INTEROP_KEY = "module.exports";
const SDK_DIR = path.join(path.sep, "node_modules", "@pulumi", "pulumi", path.sep);
const originalLoad = Module._load;
const standIns = new Map();

Module._load = function load(request, parent, isMain) {
  const how = Object.hasOwn(DEFERRED, request) ? DEFERRED[request] : undefined;
  if (how === undefined || !parent?.filename?.includes(SDK_DIR)) return originalLoad.apply(this, arguments);
  let filename;
  try {
    filename = Module._resolveFilename(request, parent, isMain);
  } catch {
    // Not installed: the SDK's own fallback (its vendored TypeScript) must see the failure.
    return originalLoad.apply(this, arguments);
  }
  if (require.cache[filename]) return require.cache[filename].exports;
  if (!standIns.has(filename)) {
    let real;
    const loadReal = () => (real ??= originalLoad.call(Module, request, parent, false));
    standIns.set(filename, how === "namespace" ? namespaceStandIn(loadReal) : exportsStandIn(loadReal, how));
  }
  return standIns.get(filename);
};

function namespaceStandIn(loadReal) {
  return new Proxy(
    {},
    {
      get: (_, key) => Reflect.get(loadReal(), key),
      has: (_, key) => Reflect.has(loadReal(), key),
      ownKeys: () => Reflect.ownKeys(loadReal()),
      // Reported configurable: the stand-in's own target has none of these properties.
      getOwnPropertyDescriptor: (_, key) => {
        // tsx (the server's loader) asks every CommonJS module it loads for this key (an ES module's CommonJS
        // interop): a module that defers has no such export, and the question alone must not load it.
        if (key === TSX_INTEROP_KEY) return undefined;
        const descriptor = Reflect.getOwnPropertyDescriptor(loadReal(), key);
        return descriptor && { ...descriptor, configurable: true };
      },
      getPrototypeOf: () => Reflect.getPrototypeOf(loadReal()),
      set: (_, key, value) => Reflect.set(loadReal(), key, value),
      defineProperty: (_, key, descriptor) => Reflect.defineProperty(loadReal(), key, descriptor),
      deleteProperty: (_, key) => Reflect.deleteProperty(loadReal(), key),
    },
  );
}

function exportsStandIn(loadReal, names) {
  const exports = {};
  for (const name of names) {
    const real = () => loadReal()[name];
    const standIn = new Proxy(function deferred() {}, {
      construct: (_, args, newTarget) => Reflect.construct(real(), args, newTarget === standIn ? real() : newTarget),
      apply: (_, thisArg, args) => Reflect.apply(real(), thisArg, args),
      get: (_, key) => Reflect.get(real(), key),
      has: (_, key) => Reflect.has(real(), key),
    });
    Object.defineProperty(exports, name, { enumerable: true, get: () => standIn });
  }
  return exports;
}
