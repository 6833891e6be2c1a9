"""``jamkesda serve``: the Flask app under gunicorn with the project's configuration file."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.metrics.directory import multiprocess_directory

CONFIG_FILE = Path(__file__).with_name("gunicorn_conf.py")


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn running ``create_app()`` in each worker."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        """Read ``gunicorn_conf.py``, then the command line's bind and workers."""
        settings = runpy.run_path(str(CONFIG_FILE))
        for key, value in settings.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        for key, value in self.overrides.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build the app in the worker, so that no database connection crosses a fork."""
        from service import create_app

        return create_app()


def serve(bind: str | None, workers: int | None) -> None:
    """Run the server until it is stopped, its workers' metrics in a folder of its own."""
    with multiprocess_directory():
        Server({"bind": [bind] if bind else None, "workers": workers}).run()
