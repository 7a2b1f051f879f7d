/**
 * Container image references read as the container runtime reads them (the distribution reference grammar), so
 * rules compare registries as hosts and tags as tags rather than as substrings of the reference:
 *   [host[:port]/]path[:tag][@digest]
 * The first component is a host only if it has a `.` or `:`, is `localhost`, or has an upper-case letter;
 * otherwise the image is on Docker Hub (`nginx` is docker.io/library/nginx). Hosts compare case-insensitively,
 * with the https default port dropped (`registry.example.com:443` is `registry.example.com`) and Docker Hub's
 * aliases (`index.docker.io`, `registry-1.docker.io`) read as docker.io.
 */

export interface ImageRef {
  /** The registry host, normalised (see above). */
  host: string;
  /** The repository path below the host, lower-cased, with Docker Hub's implicit `library/`. */
  repository: string;
  /** undefined when the reference names no tag; "" for `image:`. */
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, "index.docker.io", "registry-1.docker.io"]);

/** A registry host as the runtime dials it; also accepts how people write one in config (`https://host/`). */
export function normaliseRegistryHost(host: string): string {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .split("/")[0];
  const m = /^(.*?)(?::(\d+))?$/.exec(bare)!;
  const name = m[1].replace(/\.$/, "");
  const port = m[2] === undefined || m[2] === "443" ? "" : `:${m[2]}`;
  return DOCKER_HUB_ALIASES.has(name) && port === "" ? DOCKER_HUB : `${name}${port}`;
}

export function parseImage(image: string): ImageRef {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
  let host = DOCKER_HUB;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.indexOf(":", rest.lastIndexOf("/") + 1);
  if (colon >= 0) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  host = normaliseRegistryHost(host);
  let repository = rest.toLowerCase();
  if (host === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  return { host, repository, tag, digest };
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * Why an image is not pinned, or undefined: a valid digest pins it whatever the tag says; otherwise it needs a tag
 * that is neither empty (`image:`) nor `latest` in any case.
 */
export function imagePinProblem(image: string): string | undefined {
  const ref = parseImage(image);
  if (ref.digest !== undefined) return DIGEST.test(ref.digest) ? undefined : `image "${image}" has a malformed digest`;
  if (ref.tag === undefined) return `image "${image}" has no tag, which means latest`;
  if (ref.tag === "") return `image "${image}" has an empty tag, which means latest`;
  if (ref.tag.toLowerCase() === "latest") return `image "${image}" runs the moving tag latest`;
  return undefined;
}
