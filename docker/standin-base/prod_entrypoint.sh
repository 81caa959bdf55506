#!/bin/sh
# The official image's entrypoint, reduced to what matters here: exec litellm with the CMD's arguments
# (exec keeps it PID 1, so it receives SIGTERM).
exec litellm "$@"
