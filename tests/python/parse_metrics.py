"""Reads Prometheus text exposition on stdin with prometheus_client's own parser (what
LiteLLM's users scrape with) and prints its samples as JSON lines: name, labels, value.
A line the parser cannot read fails the script."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps({"family": family.name, "type": family.type, "name": s.name,
                          "labels": s.labels, "value": s.value}))
