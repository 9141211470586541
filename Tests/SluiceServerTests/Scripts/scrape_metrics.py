#!/usr/bin/python3
"""Fetches a Prometheus text endpoint and prints every sample as one line of JSON:
{"name": ..., "labels": {...}, "value": ...}. Parsed by prometheus_client's own text parser
(Debian's python3-prometheus-client), so the format is checked by a real Prometheus parser."""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
    content_type = response.headers.get("Content-Type", "")
    text = response.read().decode("utf-8")
if not content_type.startswith("text/plain"):
    sys.exit("unexpected Content-Type: " + content_type)
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        print(json.dumps({"name": sample.name, "labels": sample.labels, "value": sample.value, "type": family.type}))
