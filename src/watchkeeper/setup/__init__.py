"""Registering Watchkeeper as a GitHub App through the manifest flow, and its ``.env`` file."""

from watchkeeper.setup.dotenv import DotenvError, load_dotenv, parse_dotenv, write_env
from watchkeeper.setup.manifest import build_manifest
from watchkeeper.setup.run import run_setup
from watchkeeper.setup.web import SetupResult, build_setup_app

__all__ = [
    "DotenvError",
    "SetupResult",
    "build_manifest",
    "build_setup_app",
    "load_dotenv",
    "parse_dotenv",
    "run_setup",
    "write_env",
]
