// What each emulator's main.ts shares: its port from the environment, and a clean stop on SIGTERM or SIGINT.

export function portFromEnv(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${variable} must be a port number, got '${raw}'`);
  return port;
}

/** Starts the emulator, says where it listens, and closes it on a signal; any start failure exits 1. */
export function runEmulator(name: string, start: () => Promise<{ url: string; close(): Promise<void> }>): void {
  start()
    .then((emulator) => {
      console.log(`${name} listening on ${emulator.url}`);
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
    })
    .catch((err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
