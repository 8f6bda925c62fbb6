#!/usr/bin/env bash
# Placeholder until the samples issue lands.
echo "demo: not available yet: needs samples/kvserver and make livepatch (issue 6)" >&2
exit 1
