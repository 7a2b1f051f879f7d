import type { Pool } from "pg";

/** The stack_settings table: the one module that reads or writes it (the StackSettingsStore that pulumi/workspace.ts takes). */
export class DatabaseStackSettings {
  constructor(private readonly pool: Pool) {}

  async load(stackName: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ settings: string }>("SELECT settings FROM stack_settings WHERE stack_name = $1", [stackName]);
    return rows[0]?.settings;
  }

  async save(stackName: string, text: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO stack_settings (stack_name, settings) VALUES ($1, $2)
       ON CONFLICT (stack_name) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()
       WHERE stack_settings.settings IS DISTINCT FROM EXCLUDED.settings`,
      [stackName, text],
    );
  }

  async remove(stackName: string): Promise<void> {
    await this.pool.query("DELETE FROM stack_settings WHERE stack_name = $1", [stackName]);
  }

  async list(): Promise<string[]> {
    const { rows } = await this.pool.query<{ stack_name: string }>("SELECT stack_name FROM stack_settings ORDER BY stack_name");
    return rows.map((r) => r.stack_name);
  }
}
