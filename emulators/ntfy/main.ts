// Entry point: `node --import tsx emulators/ntfy/main.ts`, configured from the environment.
//   NTFY_EMULATOR_PORT   (default 2586) port on 127.0.0.1
import { portFromEnv, runEmulator } from "../entry-point";
import { startNtfyEmulator } from "./server";

runEmulator("ntfy-emulator", () => startNtfyEmulator({ port: portFromEnv("NTFY_EMULATOR_PORT", process.env.NTFY_EMULATOR_PORT, 2586) }));
