#!/usr/bin/env python3
"""Validates nncert reports: the JSON Schema (docs/report.schema.json) plus the invariants the
schema cannot express (summary counts equal the verdicts, accuracies equal their counts, every
falsified property carries a counterexample inside its region). Exit 0 when valid.

usage: check_report.py SCHEMA REPORT [REPORT ...]
"""
import json
import sys

try:
    import jsonschema
except ImportError:  # python3-jsonschema is installed by setup.sh deps
    jsonschema = None


def check(schema, path):
    with open(path) as f:
        r = json.load(f)
    errors = []
    if jsonschema is not None:
        v = jsonschema.Draft202012Validator(schema)
        errors += [f"schema: {'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(r)]
    props = r.get("properties", [])
    s = r.get("summary", {})
    counts = {}
    for p in props:
        counts[p["verdict"]] = counts.get(p["verdict"], 0) + 1
        if p["verdict"] == "falsified" and "counterexample" not in p:
            errors.append(f"property {p['id']}: falsified without a counterexample")
        if p["model"] >= len(r["models"]):
            errors.append(f"property {p['id']}: model index out of range")
    for k in ("verified", "falsified", "unknown", "timeout", "error", "not_run"):
        if s.get(k) != counts.get(k, 0):
            errors.append(f"summary.{k} = {s.get(k)}, properties say {counts.get(k, 0)}")
    if s.get("total") != len(props):
        errors.append("summary.total != number of properties")
    ds = [p for p in props if p["source"].get("kind") == "dataset"]
    if ds:
        ver = sum(p["verdict"] == "verified" for p in ds)
        if abs(s["verified_accuracy"] - ver / len(ds)) > 1e-12:
            errors.append(f"verified_accuracy {s['verified_accuracy']} != {ver}/{len(ds)}")
        ran = [p for p in ds if p["verdict"] not in ("not_run", "error")]
        if ran:
            wrong = sum(bool(p.get("misclassified")) for p in ran)
            if abs(s["clean_accuracy"] - (len(ran) - wrong) / len(ran)) > 1e-12:
                errors.append("clean_accuracy does not match the misclassified samples")
    if s.get("complete") != (counts.get("not_run", 0) == 0):
        errors.append("summary.complete disagrees with not_run")
    for e in errors:
        print(f"{path}: {e}")
    return not errors


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    if jsonschema is None:
        print("check_report.py: python3-jsonschema missing; checking invariants only")
    ok = all([check(schema, p) for p in sys.argv[2:]])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
