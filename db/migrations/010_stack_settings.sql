-- Each stack's Pulumi.<stack>.yaml when the state backend is shared: its config and its secrets provider's key
-- (for hashivault, a data key encrypted by Vault's transit engine; never a plaintext secret). A server replica
-- restores it into its scratch workspace before every command, so no replica depends on another's disk.
CREATE TABLE stack_settings (
  stack_name text PRIMARY KEY,
  settings text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
