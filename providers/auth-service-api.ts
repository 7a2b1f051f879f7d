/**
 * The mesh-six auth service's project calls the agent settings resource makes, as upstream's auth service serves them
 * (jaybrto/mesh-six, apps/auth-service/src/routes/projects.ts): `GET /projects/{id}` answers the project with its
 * agents' settings file as JSON text in `settingsJson`, `PUT /projects/{id}` updates the fields given, `POST /projects`
 * creates one. The service is reached through MESH_SIX_AUTH_SERVICE_URL in the environment of the Pulumi run (where
 * the server also delivers credentials). These functions use only globals, because Pulumi serializes them into the
 * dynamic-provider process.
 */

/** What the service answers for a project (the fields read here; it has more). */
export interface AuthProject {
  id: string;
  displayName: string;
  /** The agents' settings file (`.claude/settings.json` of the bundle), as JSON text; absent when none was set. */
  settingsJson?: string;
}

function projectsUrl(path: string): string {
  const base = process.env.MESH_SIX_AUTH_SERVICE_URL;
  if (!base) throw new Error("MESH_SIX_AUTH_SERVICE_URL must be set for agent settings");
  return `${base.replace(/\/$/, "")}/projects${path}`;
}

async function call(method: "GET" | "PUT" | "POST", path: string, body?: unknown): Promise<{ status: number; project?: AuthProject }> {
  const res = await fetch(projectsUrl(path), {
    method,
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.ok) return { status: res.status, project: JSON.parse(text) as AuthProject };
  if (res.status === 404 || res.status === 409) return { status: res.status };
  // The service's `error` names what it refused; its text is bounded, the settings sent are never quoted back here.
  let detail = "";
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") detail = `: ${parsed.error.slice(0, 200)}`;
  } catch {
    // not JSON: the status says enough
  }
  throw new Error(`the auth service refused ${method} /projects${path.split("?")[0]} (HTTP ${res.status})${detail}`);
}

const projectPath = (id: string) => `/${encodeURIComponent(id)}`;

/** The project, or undefined when the service has none of that id. */
export async function getAuthProject(id: string): Promise<AuthProject | undefined> {
  return (await call("GET", projectPath(id))).project;
}

/** Replaces the project's settings file; false when the project is gone. */
export async function putAuthProjectSettings(id: string, settingsJson: string): Promise<boolean> {
  return (await call("PUT", projectPath(id), { settingsJson })).status !== 404;
}

/** Creates the project; false when one of that id exists already (made meanwhile by someone else). */
export async function createAuthProject(project: { id: string; displayName: string; settingsJson: string }): Promise<boolean> {
  return (await call("POST", "", project)).status !== 409;
}
