// Entry point: `node --import tsx emulators/github/main.ts`, configured from the environment.
//   GITHUB_EMULATOR_TOKEN  (required) the one token the emulator accepts
//   GITHUB_EMULATOR_PORT   (default 3990) port on 127.0.0.1
//   GITHUB_EMULATOR_STATE  (optional) JSON file the state is loaded from and saved to
import { portFromEnv, runEmulator } from "../entry-point";
import { startGitHubEmulator } from "./server";

runEmulator("github-emulator", async () => {
  const token = process.env.GITHUB_EMULATOR_TOKEN;
  if (!token) throw new Error("GITHUB_EMULATOR_TOKEN is required");
  return startGitHubEmulator({
    port: portFromEnv("GITHUB_EMULATOR_PORT", process.env.GITHUB_EMULATOR_PORT, 3990),
    token,
    stateFile: process.env.GITHUB_EMULATOR_STATE || undefined,
  });
});
