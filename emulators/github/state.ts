// The emulator's whole world lives in one plain, JSON-serialisable object so that it can be dumped
// (`GET /_emulator/state`), persisted to a file and reloaded byte-for-byte by a new process.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import { newNodeId } from "./ids";
import type { TokenRecord } from "./tokens";

export const VIEWER_LOGIN = "mesh-six-bot";
const STATE_VERSION = 1;

export type OwnerType = "User" | "Organization";

export interface OwnerRecord {
  login: string;
  id: number;
  nodeId: string;
  type: OwnerType;
  createdAt: string;
  /** GitHub never reuses a project number, even after the project is deleted. */
  nextProjectNumber: number;
}

export interface HookConfigRecord {
  url: string;
  content_type: "json" | "form";
  insecure_ssl: "0" | "1";
  secret?: string;
}

export interface HookRecord {
  id: number;
  name: "web";
  active: boolean;
  events: string[];
  config: HookConfigRecord;
  createdAt: string;
  updatedAt: string;
}

export interface Signature {
  name: string;
  email: string;
  date: string;
}

export interface CommitRecord {
  sha: string;
  treeSha: string;
  /** path → blob sha: a flat snapshot of every file at this commit. */
  tree: Record<string, string>;
  parents: string[];
  message: string;
  author: Signature;
  committer: Signature;
}

export interface GitRecord {
  /** blob sha → base64 content. */
  blobs: Record<string, string>;
  commits: Record<string, CommitRecord>;
  /** branch name → head commit sha. An empty repository has no branches, as on GitHub. */
  branches: Record<string, string>;
}

export interface RepoRecord {
  id: number;
  nodeId: string;
  owner: string;
  name: string;
  private: boolean;
  /** Archived repositories are read-only: GitHub refuses every write to them. */
  archived?: boolean;
  defaultBranch: string;
  createdAt: string;
  updatedAt: string;
  pushedAt: string;
  hooks: HookRecord[];
  git: GitRecord;
  /** Absent in state files written before issues were emulated. */
  issues?: IssueRecord[];
}

export interface IssueRecord {
  number: number;
  nodeId: string;
  title: string;
  createdAt: string;
}

/** One field's value on a project item: text for TEXT fields, the option's id for SINGLE_SELECT ones. */
export interface ItemValueRecord {
  text?: string;
  optionId?: string;
  number?: number;
  date?: string;
  updatedAt: string;
}

export interface ItemRecord {
  nodeId: string;
  databaseId: number;
  /** The issue the card shows. */
  contentNodeId: string;
  createdAt: string;
  updatedAt: string;
  /** Keyed by field node id. */
  values: Record<string, ItemValueRecord>;
}

export type SingleSelectColor = "GRAY" | "BLUE" | "GREEN" | "YELLOW" | "ORANGE" | "RED" | "PINK" | "PURPLE";

export interface OptionRecord {
  id: string;
  name: string;
  color: SingleSelectColor;
  description: string;
}

export interface FieldRecord {
  nodeId: string;
  databaseId: number;
  name: string;
  dataType: string;
  options?: OptionRecord[];
  createdAt: string;
  updatedAt: string;
}

export interface ProjectRecord {
  nodeId: string;
  databaseId: number;
  number: number;
  ownerNodeId: string;
  title: string;
  closed: boolean;
  public: boolean;
  shortDescription: string | null;
  readme: string | null;
  createdAt: string;
  updatedAt: string;
  repositoryNodeIds: string[];
  fields: FieldRecord[];
  /** Absent in state files written before project items were emulated. */
  items?: ItemRecord[];
}

export interface EmulatorState {
  version: number;
  /** Source of every numeric (database) id. */
  nextId: number;
  /** Keyed by lower-cased login: GitHub logins are case-insensitive. */
  owners: Record<string, OwnerRecord>;
  /** Keyed by lower-cased "owner/name". */
  repos: Record<string, RepoRecord>;
  /** Keyed by node id. */
  projects: Record<string, ProjectRecord>;
  /** Tokens registered by tests besides the one the emulator started with, keyed by their digest (tokens.ts). */
  tokens?: Record<string, TokenRecord>;
}

/** GitHub's REST and GraphQL timestamps have whole seconds: "2011-09-06T17:26:27Z". */
export function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function ownerKey(login: string): string {
  return login.toLowerCase();
}

export function repoKey(owner: string, name: string): string {
  return `${owner}/${name}`.toLowerCase();
}

function freshState(nextId: number): EmulatorState {
  const state: EmulatorState = { version: STATE_VERSION, nextId, owners: {}, repos: {}, projects: {} };
  const id = state.nextId++;
  state.owners[ownerKey(VIEWER_LOGIN)] = {
    login: VIEWER_LOGIN,
    id,
    nodeId: newNodeId("User"),
    type: "User",
    createdAt: timestamp(),
    nextProjectNumber: 1,
  };
  return state;
}

function loadState(file: string): EmulatorState | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    // Starting empty over an unreadable file would silently lose the world the tests built.
    throw new Error(`GitHub emulator state file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const state = parsed as EmulatorState;
  if (typeof state !== "object" || state === null || state.version !== STATE_VERSION) {
    throw new Error(`GitHub emulator state file ${file} has an unsupported version (want ${STATE_VERSION})`);
  }
  return state;
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // A reader (or a crash) must see either the old file or the new one, never half of one.
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export class EmulatorStore {
  state: EmulatorState;

  constructor(private readonly stateFile?: string) {
    this.state = (stateFile && loadState(stateFile)) || freshState(1000);
  }

  /**
   * Every change goes through here: it is all-or-nothing (a request that fails half-way leaves no
   * trace) and is persisted before the caller can answer the client.
   */
  mutate<T>(change: (state: EmulatorState) => T): T {
    const before = structuredClone(this.state);
    let result: T;
    try {
      result = change(this.state);
    } catch (err) {
      this.state = before;
      throw err;
    }
    this.save();
    return result;
  }

  reset(): void {
    // Numeric ids keep counting across a reset so that an id remembered from before it (say, a hook
    // id in a Pulumi state file) can never silently point at a different, newer object.
    this.state = freshState(this.state.nextId);
    this.save();
  }

  nextDatabaseId(): number {
    return this.state.nextId++;
  }

  save(): void {
    if (this.stateFile) writeAtomically(this.stateFile, JSON.stringify(this.state));
  }
}
