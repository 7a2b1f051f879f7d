import { api } from "../api";
import { h, replace } from "../dom";
import { apiForm, type FieldGroup, type FieldSpec } from "../form";
import { runHref } from "../format";
import type { RunAccepted } from "../types";
import { heading, type View } from "./common";

/** The settings of POST /v1/onboardings (schema OnboardingRequest) a person chooses; a preview takes the same but the repo. */
const SETTINGS: FieldSpec[] = [
  { name: "displayName", label: "Display name", hint: "The board's title; the repo's name when left empty" },
  { name: "defaultBranch", label: "Default branch", placeholder: "main" },
];
const WORK: FieldSpec[] = [
  { name: "labels", label: "Issue labels", kind: "list", hint: "Comma-separated; issues with one of them become work (default mesh-six)" },
  { name: "allowedAuthors", label: "Allowed authors", kind: "list", hint: "Comma-separated GitHub logins; empty: anyone" },
  { name: "webhookEvents", label: "Webhook events", kind: "list", hint: "Comma-separated, e.g. issues, issue_comment, pull_request" },
  { name: "authProjectId", label: "Auth project id", hint: "The auth service's project: the device flow after onboarding" },
];
const RESOURCES: FieldSpec[] = [
  { name: "resources.requests.cpu", label: "CPU request", placeholder: "500m" },
  { name: "resources.requests.memory", label: "Memory request", placeholder: "1Gi" },
  { name: "resources.limits.cpu", label: "CPU limit", placeholder: "2", hint: "A Kubernetes quantity such as 500m or 2" },
  { name: "resources.limits.memory", label: "Memory limit", placeholder: "4Gi" },
];
const CHOICES: FieldSpec[] = [
  { name: "overwriteDevcontainer", label: "Overwrite an existing devcontainer file", kind: "check" },
  { name: "skipLiteLLM", label: "No LiteLLM team", kind: "check" },
];

export const ONBOARDING_GROUPS: FieldGroup[] = [
  {
    legend: "Repository",
    fields: [
      { name: "owner", label: "Owner (required)", hint: "The GitHub user or organization", autocomplete: "off" },
      { name: "repo", label: "Repository (required)", autocomplete: "off" },
      ...SETTINGS,
    ],
  },
  { legend: "Work", fields: WORK },
  { legend: "Environment pod resources", fields: RESOURCES },
  {
    legend: "Options",
    fields: [
      ...CHOICES,
      { name: "skipStorage", label: "No storage prefix", kind: "check" },
      { name: "skipAuth", label: "Skip the device-flow step", kind: "check" },
    ],
  },
];

export const PREVIEW_GROUPS: FieldGroup[] = [
  { legend: "Settings", fields: SETTINGS },
  { legend: "Work", fields: WORK },
  { legend: "Environment pod resources", fields: RESOURCES },
  { legend: "Options", fields: CHOICES },
];

export const onboardView: View = async ({ main, go }) => {
  const form = apiForm({
    label: "Onboard a repository",
    groups: ONBOARDING_GROUPS,
    submitLabel: "Onboard",
    async onSubmit(f) {
      const { body } = await api.post<RunAccepted>("/v1/onboardings", f.body());
      go(runHref(body.runId));
    },
  });
  replace(
    main,
    heading("Onboard a repository"),
    h(
      "p",
      { class: "muted" },
      "Creates the repo's stack: environment pod, webhook, board, secrets. Onboarding a repo already onboarded updates it.",
    ),
    form.element,
  );
};
