/** `npm run build`: the Pulumi program and the policy pack as JavaScript in dist/ (pulumi/program-build.ts). */
import { buildProgram } from "../pulumi/program-build";

buildProgram().then(
  (outcome) => {
    console.log(`dist/: ${outcome.built ? "built" : "already fresh"} (${outcome.inputs} sources, ${outcome.ms} ms)`);
  },
  (err: Error) => {
    console.error(`build failed: ${err.message}`);
    process.exit(1);
  },
);
