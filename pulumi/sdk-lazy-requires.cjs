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
 * first use, and the processes that never use it never load it. The same for ts-node, which run-policy-pack registers
 * (type-checking) for every policy pack, whatever its language: ours is JavaScript.
 *
 * Plain CommonJS, not built: it runs before anything else of the process, TypeScript loaders included.
 */
const fs = require("node:fs");
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
  "ts-node": "register",
};

/**
 * What is read of a deferred module before any real use, answered from its package.json so that the reading alone
 * does not load it: run-policy-pack logs TypeScript's and ts-node's versions and checks TypeScript's.
 */
const STATIC = { typescript: { version: "version" }, "ts-node": { VERSION: "version" } };

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
    const known = staticAnswers(request, filename);
    const standIn =
      how === "namespace"
        ? namespaceStandIn(loadReal, known)
        : how === "register"
          ? registerStandIn(loadReal, known)
          : exportsStandIn(loadReal, how);
    standIns.set(filename, standIn);
  }
  return standIns.get(filename);
};

/** The STATIC keys of a deferred module, read from the package.json above its main file. */
function staticAnswers(request, filename) {
  const wanted = STATIC[request];
  if (!wanted) return {};
  let dir = path.dirname(filename);
  while (path.basename(dir) !== request.split("/").pop() && dir !== path.dirname(dir)) dir = path.dirname(dir);
  // Read, not required: the module's files stay out of require.cache, which is how the tests tell what loaded.
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  return Object.fromEntries(Object.entries(wanted).map(([key, field]) => [key, pkg[field]]));
}

function namespaceStandIn(loadReal, known = {}) {
  return new Proxy(
    {},
    {
      get: (_, key) => (Object.hasOwn(known, key) ? known[key] : Reflect.get(loadReal(), key)),
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

/**
 * ts-node, which run-policy-pack registers for every pack (with type-checking), though ours is JavaScript: its
 * register() installs the TypeScript extensions' loaders only, and the first TypeScript file required registers the
 * real ts-node with the same options and is loaded through it. A JavaScript pack never loads ts-node or TypeScript.
 */
function registerStandIn(loadReal, known) {
  const TYPESCRIPT_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];
  return {
    ...known,
    register(options) {
      let registered;
      const before = new Map(TYPESCRIPT_EXTENSIONS.map((ext) => [ext, Module._extensions[ext]]));
      // ts-node wraps the loaders it finds: it must find the ones that were there, not these.
      const realRegister = () => {
        if (registered) return registered;
        for (const [ext, loader] of before) {
          if (loader) Module._extensions[ext] = loader;
          else delete Module._extensions[ext];
        }
        return (registered = loadReal().register(options));
      };
      for (const ext of TYPESCRIPT_EXTENSIONS) {
        Module._extensions[ext] = function deferredTypeScript(module, filename) {
          realRegister();
          const loader = Module._extensions[ext] ?? Module._extensions[".js"];
          return loader(module, filename);
        };
      }
      return { deferred: true, register: realRegister };
    },
  };
}
