"use strict";
/**
 * Preloaded (`node --require`) beside pulumi/sdk-lazy-requires.cjs into the Node processes of a Pulumi run.
 *
 * Pulumi's SDK reports an error it did not expect with `util.inspect(err, { colors: true })`. In Node 20.20 (and
 * every release with nodejs/node#59446 up to the fix, nodejs/node#64022) colouring a stack frame whose path ends in
 * `node_modules/<name>` or `node_modules/@scope/<file>` loops without end, growing a string until V8 gives up: and
 * every frame of the SDK's own code reads `node_modules/@pulumi/<file>.ts` once source-map-support has mapped it. A
 * program that threw at start-up spent 30 to 120 s in the garbage collector and 3 GB of heap before its error was
 * shown (nodejs/node#64011). An Error asked for in colour is therefore inspected without colour: the same text, no
 * escape codes (which the server's run events would only have to strip).
 */
const util = require("node:util");

const inspect = util.inspect;

function guardedInspect(value, options, ...rest) {
  if (value instanceof Error && options !== null && typeof options === "object" && options.colors) {
    return inspect.call(this, value, { ...options, colors: false }, ...rest);
  }
  return inspect.call(this, value, options, ...rest);
}

// inspect.custom, .colors, .styles and the .defaultOptions accessor stay the real ones.
for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(inspect))) {
  if (!["length", "name", "prototype"].includes(key)) Object.defineProperty(guardedInspect, key, descriptor);
}
util.inspect = guardedInspect;
