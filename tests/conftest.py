"""Every test run gets its own snapshot cache folder: tests never read or fill the user's
~/.cache/meshtui (the CLI caches loaded snapshots by default)."""

import os
import tempfile

os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="meshtui-test-cache-")
