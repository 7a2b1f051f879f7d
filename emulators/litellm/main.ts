// Entry point: `node --import tsx emulators/litellm/main.ts`, configured from the environment.
//   LITELLM_MASTER_KEY       (required) the proxy's master key (sk-…), the one admin credential it accepts
//   LITELLM_EMULATOR_PORT    (default 4000, LiteLLM's own default) port on 127.0.0.1
//   LITELLM_EMULATOR_STATE   (optional) JSON file the state is loaded from and saved to
import { portFromEnv, runEmulator } from "../entry-point";
import { startLiteLLMEmulator } from "./server";

runEmulator("litellm-emulator", async () => {
  const masterKey = process.env.LITELLM_MASTER_KEY;
  if (!masterKey) throw new Error("LITELLM_MASTER_KEY is required");
  return startLiteLLMEmulator({
    port: portFromEnv("LITELLM_EMULATOR_PORT", process.env.LITELLM_EMULATOR_PORT, 4000),
    masterKey,
    stateFile: process.env.LITELLM_EMULATOR_STATE || undefined,
  });
});
