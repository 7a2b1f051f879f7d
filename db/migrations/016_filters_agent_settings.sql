-- What keeps a matching delivery from becoming work, per repo (domain/repo-config.ts deliveryFiltersSchema: drafts,
-- bots, ignored logins, excluded labels, pull-request branch patterns), and the repo's keys in its auth project's
-- agent settings, shown on the repo. Both written by the stack's RepoRegistration; '{}' reads as the defaults.
ALTER TABLE repo_registry ADD COLUMN filters jsonb NOT NULL DEFAULT '{}';
ALTER TABLE repo_registry ADD COLUMN agent_settings jsonb NOT NULL DEFAULT '{}';

-- The GitHub login an agent acts as: its deliveries (its own comments, its labels) never become work
-- (server/webhooks/filters.ts). NULL: the agent did not say (a GitHub App's `[bot]` login is caught as a bot).
ALTER TABLE agents ADD COLUMN github_login text;
