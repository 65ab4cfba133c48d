// The HTTP frame source of the standalone page: the viewer's source (see the
// top of viewer.js) over the server extension's REST API. Requests are
// same-origin with the session's cookies; no token goes into a URL built here.

/** Error of an API call: "what: message", the server's message when it sent one. */
export async function apiError(response, what) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  return new Error(`${what}: ${message}`);
}

function seriesLabel(s) {
  const count = s.instances.reduce((n, i) => n + Math.max(1, Number(i.frames) || 1), 0);
  const name = s.description || s.modality || "Series";
  const number = s.number !== null && s.number !== undefined ? `${s.number}: ` : "";
  return `${number}${name} (${count} image${count === 1 ? "" : "s"})`;
}

function hasImages(s) {
  return (s.instances || []).some((i) => i.image && i.image.rows > 0);
}

/**
 * A frame source for the viewer over `{api}cases/<accession>`.
 *
 * The series' stacks (the server's series assembly) go to the viewer with
 * info(), and frame(index, ref) fetches the image `ref` names.
 *
 * @param {string} api the API root, ending in "/" (e.g. "/claripacs/api/")
 * @param {string} accession the case's accession
 * @param {string|null} [seriesUid] the series to show first; else the first
 *   series with images
 * @param {object|null} [known] the case's detail (`GET cases/<acc>`) when the
 *   page already holds it, as the case page does: the first image is then
 *   asked for without waiting on a request for the detail
 * @returns {object} the source (info, frame, select)
 */
export function httpSource(api, accession, seriesUid = null, known = null) {
  const caseUrl = `${api}cases/${encodeURIComponent(accession)}`;
  let detail = known && Array.isArray(known.series) ? known : null;
  let current = null;
  let images = [];
  let byUid = new Map(); // SOP Instance UID -> instance of the current series

  async function load() {
    if (detail) return detail;
    const response = await fetch(caseUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw await apiError(response, `Case ${accession}`);
    detail = await response.json();
    return detail;
  }

  function pick(uid) {
    const all = (detail.series || []).filter(hasImages);
    if (!all.length) throw new Error(`Case ${accession} has no images.`);
    const chosen = all.find((s) => s.uid === uid);
    if (uid && !chosen) console.warn("claripacs: series not in this case, showing the first");
    current = chosen || all[0];
    byUid = new Map(current.instances.map((i) => [i.uid, i]));
    images = [];
    for (const inst of current.instances) {
      const count = Math.max(1, Number(inst.frames ?? inst.image?.frames ?? 1));
      for (let f = 0; f < count; f++) images.push({ inst, frame: f });
    }
    return all;
  }

  return {
    async info() {
      await load();
      const all = pick(current ? current.uid : seriesUid);
      return {
        seriesUid: current.uid,
        modality: current.modality || "",
        label: seriesLabel(current),
        series: all.map((s) => ({ uid: s.uid, label: seriesLabel(s) })),
        instances: current.instances.map((i) => ({
          uid: i.uid,
          frames: i.frames,
          image: i.image,
        })),
        stacks: Array.isArray(current.stacks) ? current.stacks : [],
      };
    },
    async frame(index, ref) {
      const inst = ref ? byUid.get(ref.instance) : images[index]?.inst;
      const frame = ref
        ? Math.max(0, Math.trunc(Number(ref.frame) || 0))
        : images[index]?.frame;
      if (!inst) throw new Error(`no image ${index + 1} in this series`);
      const img = { inst, frame };
      const url =
        `${caseUrl}/instances/${encodeURIComponent(img.inst.uid)}` +
        `/frames/${img.frame}/raw`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw await apiError(response, `Image ${index + 1}`);
      return { info: img.inst.image, pixels: await response.arrayBuffer() };
    },
    async select(uid) {
      await load();
      pick(uid);
    },
  };
}
