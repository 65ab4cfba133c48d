"""The dry run in a notebook: a table of what anonymization would do, filtered by hand.

Built from ipywidgets' own controls (a library beats our own code here): a
choice of file, a choice of action, a search box over paths and keywords,
the element table of :class:`~claripacs_jupyter.dryrun.DryRun` for what is
chosen, and the review flags and refusals above it. Values before are already
redacted in the run, so nothing here can show them.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from ..dryrun import DryRun

__all__ = ["ACTIONS", "DryRunView"]

#: The actions, in the order the filter offers them.
ACTIONS = ("all", "remove", "replace", "empty", "add", "keep")
#: Rows shown at most; the DataFrame holds them all.
MAX_ROWS = 500


class DryRunView(widgets.VBox):
    """A notebook view of a dry run.

    Parameters
    ----------
    run : DryRun
        What :func:`claripacs_jupyter.dryrun.dry_run` found.

    Examples
    --------
    >>> from claripacs_jupyter.dryrun import dry_run
    >>> DryRunView(dry_run(["./exam.zip"]))  # doctest: +SKIP
    """

    def __init__(self, run: DryRun) -> None:
        self.run = run
        sources = sorted(set(run.elements["source"]))
        self.source = widgets.Dropdown(
            options=["all files", *sources], description="File", layout={"width": "60%"}
        )
        self.action = widgets.ToggleButtons(options=ACTIONS, description="Action")
        self.search = widgets.Text(
            placeholder="path or keyword", description="Find", continuous_update=False
        )
        self.notes = widgets.HTML(self._notes_html())
        self.table = widgets.HTML()
        for control in (self.source, self.action, self.search):
            control.observe(self._refresh, names="value")
        super().__init__(
            [self.notes, self.source, self.action, self.search, self.table]
        )
        self._refresh()

    def shown(self) -> pd.DataFrame:
        """The rows the filters choose, as the table shows them."""
        rows = self.run.elements
        if self.source.value != "all files":
            rows = rows[rows["source"] == self.source.value]
        if self.action.value != "all":
            rows = rows[rows["action"] == self.action.value]
        text = self.search.value.strip().lower()
        if text:
            found = rows["path"].str.lower().str.contains(text, regex=False)
            found |= rows["keyword"].str.lower().str.contains(text, regex=False)
            rows = rows[found]
        return rows

    def _refresh(self, _change: object = None) -> None:
        rows = self.shown()
        more = len(rows) - MAX_ROWS
        columns = ["path", "tag", "vr", "action", "before", "after"]
        table = rows[columns].head(MAX_ROWS).to_html(index=False, escape=True)
        tail = f"<p>{more} more rows in run.elements</p>" if more > 0 else ""
        self.table.value = f"<p>{len(rows)} element(s)</p>{table}{tail}"

    def _notes_html(self) -> str:
        parts = []
        for title, frame in (
            ("Review flags", self.run.flags),
            ("Refused", self.run.skipped),
        ):
            if frame.empty:
                continue
            items = "".join(
                f"<li>{html.escape(str(r.source))}: {html.escape(str(r.reason))}</li>"
                for r in frame.itertuples()
            )
            parts.append(f"<p><strong>{title}</strong></p><ul>{items}</ul>")
        return "".join(parts) or "<p>No review flags, nothing refused.</p>"
