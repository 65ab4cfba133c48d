"""Test-wide plugins: pytest-jupyter's server fixtures (jp_serverapp, jp_fetch, ...)."""

pytest_plugins = ["pytest_jupyter.jupyter_server"]
