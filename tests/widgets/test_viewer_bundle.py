"""The widget's one ES module: widget.js and the static modules it imports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claripacs_jupyter.widgets import viewer as viewer_module
from claripacs_jupyter.widgets.viewer import (
    STATIC,
    BundleError,
    _bundle,
    _module_source,
    _top_level_names,
)


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _sections(bundle: str) -> list[str]:
    return re.findall(r"^// ---- (\S+) ----$", bundle, re.MULTILINE)


def test_each_module_comes_once_after_the_modules_it_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "main.js": 'import { b } from "./b.js";\n'
            'import { c } from "./c.js";\n'
            "export default { b, c };\n",
            "b.js": 'import { c } from "./c.js";\nexport function b() { return c; }\n',
            "c.js": "export const c = 1;\n",
        },
    )

    bundle = _bundle(tmp_path / "main.js")

    assert _sections(bundle) == ["c.js", "b.js", "main.js"]
    assert "import" not in bundle
    assert bundle.count("export const c = 1;") == 1


def test_the_widget_module_is_the_viewer_then_the_widget_host() -> None:
    esm = _module_source()

    assert _sections(esm)[-2:] == ["viewer.js", "widget.js"]
    assert "export function createViewer" in esm
    assert esm.rstrip().endswith("export default { render: renderWidget };")
    assert re.search(r"^\s*import[\s{*]", esm, re.MULTILINE) is None
    assert "import(" not in esm and "import.meta" not in esm


def test_widget_js_imports_the_viewer_rather_than_relying_on_order() -> None:
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")

    assert 'import { createViewer } from "./viewer.js";' in widget.splitlines()


def test_two_modules_declaring_the_same_top_level_name_are_refused(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "main.js": 'import { a } from "./a.js";\nfunction helper() {}\n',
            "a.js": "export const a = 1;\nconst helper = 2;\n",
        },
    )

    with pytest.raises(BundleError, match=r"helper .* a\.js and main\.js"):
        _bundle(tmp_path / "main.js")


def test_no_two_static_modules_declare_the_same_top_level_name() -> None:
    declared: dict[str, list[str]] = {}

    for path in sorted(STATIC.glob("*.js")):
        for name in _top_level_names(path.read_text(encoding="utf-8")):
            declared.setdefault(name, []).append(path.name)

    assert {n: files for n, files in declared.items() if len(files) > 1} == {}
    assert {"createViewer", "renderWidget", "widgetSource"} <= declared.keys()


def test_top_level_names_are_those_at_the_module_level_only() -> None:
    source = (
        "export async function load() {\n  const inner = 1;\n}\n"
        "let counter = 0;\nexport const { a, b: renamed } = parts;\n"
        "class Thing {}\nexport default { load };\n"
    )

    names = _top_level_names(source)

    assert sorted(names) == ["Thing", "a", "counter", "load", "renamed"]


@pytest.mark.parametrize(
    "line",
    [
        'import {\n  a,\n} from "./a.js";',
        'import a from "./a.js";',
        'import * as a from "./a.js";',
        'import { a } from "https://example.org/a.js";',
        'export { a } from "./a.js";',
        "const here = new URL('x', import.meta.url);",
    ],
)
def test_imports_the_bundle_cannot_join_are_refused(tmp_path: Path, line: str) -> None:
    _write(tmp_path, {"main.js": f"{line}\n", "a.js": "export const a = 1;\n"})

    with pytest.raises(BundleError, match="single-line"):
        _bundle(tmp_path / "main.js")


def test_a_name_the_imported_module_does_not_export_is_refused(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "main.js": 'import { a, hidden } from "./a.js";\n',
            "a.js": "export const a = 1;\nconst hidden = 2;\n",
        },
    )

    with pytest.raises(BundleError, match="hidden from a.js"):
        _bundle(tmp_path / "main.js")


def test_an_import_cycle_and_a_missing_module_are_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "main.js": 'import { a } from "./a.js";\n',
            "a.js": 'import { m } from "./main.js";\nexport const a = 1;\n',
            "lost.js": 'import { x } from "./nowhere.js";\n',
        },
    )

    with pytest.raises(BundleError, match="cycle"):
        _bundle(tmp_path / "main.js")
    with pytest.raises(BundleError, match="nowhere.js, which is missing"):
        _bundle(tmp_path / "lost.js")


def test_the_viewer_class_carries_the_bundle() -> None:
    assert viewer_module.Viewer._esm == _module_source()
