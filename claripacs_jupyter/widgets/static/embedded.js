// The reference guide's embedded API for a parent page that shows claripacs
// pages (case or split) in iframes of the same origin. Include it as a plain
// script, <script src="{base}static/claripacs_jupyter/embedded.js"></script>,
// then call
//
//   change_left_mouse(iframe.contentWindow, n)  1 W/L, 2 drag, 3 scroll,
//                                                4 zoom, 5 arrow, 6 text,
//                                                7 length, 8 ellipse, 9 angle
//   toggle_simple_mode(iframe.contentWindow)     hide or show menus and icons
//   find_viewer(iframe.contentWindow)            the page's (first) viewer
//   iframe.read_url_line(url)                    move the iframe's view to url's
//
// and the page's own iframe.contentWindow.get_url() and claripacs_display_mode.
// A page of another origin cannot be reached: the browser forbids it, and these
// functions throw the browser's SecurityError. This file is a classic script
// (no import, no export) so that the guide's inline onclick handlers find its
// functions on the window; it defines no global name besides those four.

{
  const embeddedApiOf = (win, name) => {
    if (!win || typeof win[name] !== "function") {
      throw new TypeError(
        `${name}: the window is not a claripacs page, or has not loaded yet`,
      );
    }
    return win[name];
  };

  /** Set the left-mouse tool of the claripacs page in `win` by the guide's number. */
  globalThis.change_left_mouse = (win, n) => embeddedApiOf(win, "change_left_mouse")(n);

  /** Hide or show the menus and icons of the claripacs page in `win`; the new mode. */
  globalThis.toggle_simple_mode = (win) => embeddedApiOf(win, "toggle_simple_mode")();

  /** The viewer of the claripacs page in `win` (the first of a split page), or null. */
  globalThis.find_viewer = (win) => (win ? (win.claripacs_viewer ?? null) : null);

  /**
   * Move the view of this iframe's claripacs page to that of `url` without
   * reloading it (see the page's read_url_line); an iframe that holds no
   * claripacs page yet is pointed at `url` instead.
   *
   * @returns {Promise<string>} "moved", "mounted", "navigated" or "loaded"
   */
  HTMLIFrameElement.prototype.read_url_line = function readUrlLine(url) {
    const win = this.contentWindow;
    if (win && typeof win.read_url_line === "function") {
      return win.read_url_line(url);
    }
    this.src = url;
    return Promise.resolve("loaded");
  };
}
