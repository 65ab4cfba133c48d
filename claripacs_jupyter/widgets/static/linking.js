// Linked viewers: viewers that scroll together by position along the slice
// normal, or by image number when a stack has no geometry.
//
// A link group lives on globalThis under its name, so that viewers created by
// different modules on one page (two anywidget views, two copies of the
// bundled viewer) share it. A viewer in a group gives the group
//   slices()          -> {image, count, positions: [mm | null], normal: [x, y, z] | null}
//   showLinked(index)    moves the viewer to image `index` without telling the group
// and tells the group with group.moved(viewer) when its image changes.
// This module imports nothing. (No export line may contain the word "from":
// the widget's bundler takes such a line for a re-export.)

/** Two unit normals whose components differ by no more than this are the same (~3°). */
const LINK_NORMAL_TOLERANCE = 0.05;

/** The property of globalThis that holds the link groups, by name. */
const LINK_REGISTRY = "__claripacsLinkGroups";

/**
 * The unit normal of the slice plane of (0020,0037) *ImageOrientationPatient*
 * (row then column direction cosines): their cross product, or null when the
 * orientation is missing, malformed or degenerate.
 * @param {Array<number>|null} orientation six direction cosines
 * @returns {Array<number>|null}
 */
export function sliceNormal(orientation) {
  if (!Array.isArray(orientation) || orientation.length !== 6) return null;
  const [rx, ry, rz, cx, cy, cz] = orientation.map(Number);
  const n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const length = Math.hypot(n[0], n[1], n[2]);
  if (!Number.isFinite(length) || length < 1e-6) return null;
  return n.map((v) => v / length);
}

/**
 * An image's position along its slice normal in mm: (0020,0032)
 * *ImagePositionPatient* projected on the normal of its orientation, as
 * claripacs_jupyter.dicom.series.along_normal computes it; null without both.
 * @param {object|null} info image_info (position, orientation)
 * @returns {number|null}
 */
export function positionAlongNormal(info) {
  const normal = sliceNormal(info && info.orientation);
  const position = info && info.position;
  if (!normal || !Array.isArray(position) || position.length !== 3) return null;
  const p = position.map(Number);
  const along = p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
  return Number.isFinite(along) ? along : null;
}

/** +1 or -1 when two normals are the same plane direction (or opposite), else 0. */
function linkNormalSign(a, b) {
  const same = a.every((v, k) => Math.abs(v - b[k]) <= LINK_NORMAL_TOLERANCE);
  if (same) return 1;
  const opposite = a.every((v, k) => Math.abs(v + b[k]) <= LINK_NORMAL_TOLERANCE);
  return opposite ? -1 : 0;
}

/**
 * The image of `follower` that goes with the image `leader` shows (both as
 * viewer.slices() gives them): the one whose position is nearest when both
 * have geometry (and their normals, when both give one, agree), else the same
 * image number, clamped to the follower's images. Null when it has none.
 * @param {object} leader slices() of the viewer that moved
 * @param {object} follower slices() of the viewer that follows
 * @returns {number|null}
 */
export function linkedIndex(leader, follower) {
  const n = follower.count;
  if (!(n > 0)) return null;
  const byIndex = Math.min(Math.max(0, leader.image), n - 1);
  const p = leader.positions[leader.image];
  const targets = follower.positions;
  const geometric =
    Number.isFinite(p) && targets.length === n && targets.every(Number.isFinite);
  if (!geometric) return byIndex;
  let sign = 1;
  if (leader.normal && follower.normal) {
    sign = linkNormalSign(leader.normal, follower.normal);
    if (!sign) return byIndex;
  }
  const wanted = sign * p;
  let best = 0;
  for (let i = 1; i < n; i++) {
    if (Math.abs(targets[i] - wanted) < Math.abs(targets[best] - wanted)) best = i;
  }
  return best;
}

/** A new, empty link group. */
function linkGroupNamed(name) {
  const members = new Set();
  let moving = false; // true while the group moves its viewers
  return {
    name,
    /** The viewers in the group, in the order they joined. */
    get viewers() {
      return [...members];
    },
    add(viewer) {
      members.add(viewer);
    },
    remove(viewer) {
      members.delete(viewer);
    },
    /**
     * Move every other viewer of the group to the image that goes with the one
     * `viewer` shows. The moves it makes are not passed on again.
     */
    moved(viewer) {
      if (moving || !members.has(viewer)) return;
      moving = true;
      try {
        const led = viewer.slices();
        for (const other of members) {
          if (other === viewer) continue;
          const index = linkedIndex(led, other.slices());
          if (index !== null) other.showLinked(index);
        }
      } finally {
        moving = false;
      }
    },
  };
}

/**
 * The link group called `name`, made on first use, shared through globalThis
 * by every viewer of the page.
 * @param {string} [name]
 * @returns {{name: string, viewers: Array<object>, add: Function, remove: Function,
 *   moved: Function}}
 */
export function linkGroup(name = "default") {
  if (!globalThis[LINK_REGISTRY]) globalThis[LINK_REGISTRY] = new Map();
  const registry = globalThis[LINK_REGISTRY];
  if (!registry.has(name)) registry.set(name, linkGroupNamed(name));
  return registry.get(name);
}
