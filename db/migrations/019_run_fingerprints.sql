-- What an onboard or update would apply, hashed per component (program build, stack config, toolchain, inputs read
-- outside the config), so that an identical later update can be answered `up-to-date` without starting Pulumi
-- (runs/up-to-date.ts). `up_to_date_with` names the earlier run whose result an up-to-date run repeats.
ALTER TABLE runs ADD COLUMN fingerprint jsonb;
ALTER TABLE runs ADD COLUMN up_to_date_with uuid REFERENCES runs (id);
