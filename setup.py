"""Packaging for claripacs-jupyter."""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.editable_wheel import editable_wheel

HERE = Path(__file__).parent


class EditableWithData(editable_wheel):
    """Editable install that still installs ``data_files``.

    setuptools' editable_wheel asks the distribution for ``has_data()``, which
    does not exist (the method is ``has_data_files()``), so the server config
    file never lands and ``pip install -e .`` leaves the extension disabled.
    """

    def _run_install(self, category: str) -> None:
        if category == "data" and self.distribution.has_data_files():
            self.run_command("install_data")
            return
        super()._run_install(category)


setup(
    name="claripacs-jupyter",
    version="0.1.0",
    description="A teaching-file PACS inside Jupyter",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.11",
    packages=find_packages(include=["claripacs_jupyter", "claripacs_jupyter.*"]),
    include_package_data=True,
    package_data={
        "claripacs_jupyter.server_extension": ["templates/*.html", "static/*"],
        "claripacs_jupyter.widgets": ["static/*.js", "static/*.css"],
        "claripacs_jupyter.anonymize": ["*.toml"],
    },
    data_files=[
        (
            "etc/jupyter/jupyter_server_config.d",
            ["jupyter-config/jupyter_server_config.d/claripacs_jupyter.json"],
        ),
    ],
    install_requires=[
        "jupyterlab>=4",
        "jupyter_server>=2",
        "ipywidgets>=8",
        "anywidget>=0.9",
        "voila>=0.5",
        "pydicom>=3.0",
        "pylibjpeg>=2",
        "pylibjpeg-libjpeg>=2",
        "pylibjpeg-openjpeg>=2",
        "pylibjpeg-rle>=2",
        "numpy>=1.24",
        "pandas>=2",
        "openpyxl>=3.1",
        "tornado>=6.2",
        "SQLAlchemy>=2",
        "Jinja2>=3.1",
        "Pillow>=10",
        "tqdm>=4.60",
        # Its copy of PS3.15 Table E.1-1 is the Basic profile's table.
        "dicom-anonymizer>=2.1",
        # The demo teaching set (`claripacs demo`) is made of its real files.
        "pydicom-data",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-jupyter[server]>=0.10",
            "pytest-timeout",
            "playwright>=1.40",
            "nbclient>=0.10",
            "ipykernel",
            "hypothesis",
            "ruff",
        ],
        "bench": ["dicognito", "deid"],
    },
    cmdclass={"editable_wheel": EditableWithData},
    entry_points={"console_scripts": ["claripacs = claripacs_jupyter.cli:main"]},
)
