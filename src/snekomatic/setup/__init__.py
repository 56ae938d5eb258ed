"""``snekomatic setup``: create the GitHub App from ``app.yml`` with GitHub's App Manifest flow and
write its credentials to an env file (``_flow``); the manifest and the local page that sends it
(``_manifest``).
"""

from snekomatic.setup._flow import DEFAULT_API_URL as DEFAULT_API_URL
from snekomatic.setup._flow import DEFAULT_GITHUB_URL as DEFAULT_GITHUB_URL
from snekomatic.setup._flow import CreatedApp as CreatedApp
from snekomatic.setup._flow import SetupOptions as SetupOptions
from snekomatic.setup._flow import env_file_text as env_file_text
from snekomatic.setup._flow import run_setup as run_setup
from snekomatic.setup._manifest import SetupError as SetupError
from snekomatic.setup._manifest import default_manifest_path as default_manifest_path

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_GITHUB_URL",
    "CreatedApp",
    "SetupError",
    "SetupOptions",
    "default_manifest_path",
    "env_file_text",
    "run_setup",
]
