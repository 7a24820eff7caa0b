"""Settings of bench/pipeline's processes: bench/settings.py plus the probe app ``bench.pipeline``.

DJANGO_SETTINGS_MODULE=bench.pipeline.settings   # with the project root on sys.path
"""

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.pipeline"]
