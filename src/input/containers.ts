/**
 * `--containers` of publish-containers: platform variants built elsewhere. The list must not be empty (checked
 * before any engine call); once the engine has said each one's platform, two of one platform are refused, before
 * any push: an image index holds one manifest per platform.
 */
import { joinList, refuse, type Grammar } from "./argument.js";
import { canonicalPlatform } from "./platform.js";

const HINT_BUILD =
  'one container per platform, e.g. dockerBuild(platform: "linux/amd64") and dockerBuild(platform: "linux/arm64")';

/** Refuses an empty list of containers; the values themselves are engine objects, checked by the engine. */
export function requireContainers<C>(containers: readonly C[], flag = "--containers"): C[] {
  const g: Grammar = { flag, check: () => undefined, list: true };
  if (containers.length === 0) refuse(g, "", "give at least one container", undefined, HINT_BUILD);
  return [...containers];
}

/**
 * The containers' platforms as the engine reported them, in the order given; refuses two containers of one
 * platform (compared in containerd's normalised spelling), naming their positions (1-based) and the platform.
 */
export function requireOnePerPlatform(platforms: readonly string[], flag = "--containers"): string[] {
  const g: Grammar = { flag, check: () => undefined, show: (v) => v, list: true };
  const keys = platforms.map((p) => canonicalPlatform(p) ?? p);
  const second = keys.findIndex((k, i) => keys.indexOf(k) !== i);
  if (second >= 0) {
    const first = keys.indexOf(keys[second] ?? "");
    refuse(
      g,
      joinList(platforms),
      `containers ${first + 1} and ${second + 1} are both ${platforms[second] ?? ""} (Container.platform): an image holds one variant per platform`,
      undefined,
      `give ${HINT_BUILD}`,
    );
  }
  return [...platforms];
}
