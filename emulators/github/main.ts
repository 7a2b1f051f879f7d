// Entry point: `node --import tsx emulators/github/main.ts`, configured from the environment.
//   GITHUB_EMULATOR_TOKEN  (required) the one token the emulator accepts
//   GITHUB_EMULATOR_PORT   (default 3990) port on 127.0.0.1
//   GITHUB_EMULATOR_STATE  (optional) JSON file the state is loaded from and saved to
import { startGitHubEmulator } from "./server";

function portFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 3990;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`GITHUB_EMULATOR_PORT must be a port number, got '${raw}'`);
  return port;
}

async function main(): Promise<void> {
  const token = process.env.GITHUB_EMULATOR_TOKEN;
  if (!token) throw new Error("GITHUB_EMULATOR_TOKEN is required");
  const emulator = await startGitHubEmulator({
    port: portFromEnv(process.env.GITHUB_EMULATOR_PORT),
    token,
    stateFile: process.env.GITHUB_EMULATOR_STATE || undefined,
  });
  console.log(`github-emulator listening on ${emulator.url}`);
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  console.error(`github-emulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
