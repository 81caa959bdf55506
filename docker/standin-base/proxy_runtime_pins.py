"""Print LiteLLM's own ``proxy-runtime`` requirements for the named projects, one per line.

The official image installs LiteLLM with its ``proxy-runtime`` extra (among others); the stand-in takes
over only the pins that shape the environment this repository installs into (grpcio, opentelemetry-*,
prometheus-client), read from the installed LiteLLM's metadata so they follow its version.
    python proxy_runtime_pins.py grpcio 'opentelemetry-*' prometheus-client
"""

import fnmatch
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

for line in requires("litellm") or []:
    requirement = Requirement(line)
    marker = str(requirement.marker or "")
    if "proxy-runtime" in marker and any(fnmatch.fnmatch(requirement.name, name) for name in sys.argv[1:]):
        print(f"{requirement.name}{requirement.specifier}")
