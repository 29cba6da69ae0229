"""Standalone Kubernetes JSON schemas for kubeconform, made from the `kubernetes-validate` package.

kubernetes-validate ships one schema per kind whose `$ref`s point into a shared `_definitions.json` through an
`$id` URL (https://kubernetes.io/api/...). kubeconform would try to fetch that URL, so for every kind found in the
given manifests this writes `<out>/<kind><suffix>.json` (kubeconform's file naming) with the reachable definitions
inlined under `$defs` and the `$id` dropped. Kinds already written are kept (a cache); kinds in --skip are ignored.

    python k8s-schemas.py --version 1.35.0 --out DIR [--skip ServiceMonitor] manifest.yaml...

Exits 1 when a kind has no schema in that Kubernetes version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import kubernetes_validate
import yaml


def kind_file(api_version: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`: apps/v1 -> -apps-v1, networking.k8s.io/v1 -> -networking-v1."""
    parts = api_version.split("/")
    suffix = "-" + parts[0].split(".")[0].lower()
    if len(parts) > 1:
        suffix += "-" + parts[1].lower()
    return f"{kind.lower()}{suffix}.json"


def local_ref(ref: str) -> str:
    """'/api/_definitions.json#/$defs/X' or '#/$defs/X' -> '#/$defs/X'."""
    return "#" + ref.split("#", 1)[1] if "#" in ref else ref


def rewrite(node, found: set[str]):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                value = local_ref(value)
                if value.startswith("#/$defs/"):
                    found.add(value[len("#/$defs/"):])
            out[key] = rewrite(value, found)
        return out
    if isinstance(node, list):
        return [rewrite(v, found) for v in node]
    return node


def standalone(schema: dict, definitions: dict) -> dict:
    found: set[str] = set()
    top = rewrite({k: v for k, v in schema.items() if k != "$id"}, found)
    defs: dict = {}
    pending = list(found)
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        if name not in definitions:
            raise KeyError(f"definition {name} is missing from _definitions.json")
        more: set[str] = set()
        defs[name] = rewrite(definitions[name], more)
        pending.extend(more - defs.keys())
    top["$defs"] = defs
    return top


def kinds_in(paths: list[str]) -> set[tuple[str, str]]:
    kinds = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"):
                    kinds.add((doc["apiVersion"], doc["kind"]))
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="Kubernetes version, e.g. 1.35.0")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--skip", action="append", default=[], help="kind to ignore (e.g. a CRD's)")
    parser.add_argument("manifests", nargs="+")
    args = parser.parse_args()

    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{args.version}-local-strict"
    if not source.is_dir():
        print(f"k8s-schemas: kubernetes-validate {getattr(kubernetes_validate, '__version__', '')} has no schemas for {args.version}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    definitions = None
    missing = []
    for api_version, kind in sorted(kinds_in(args.manifests)):
        if kind in args.skip:
            continue
        name = kind_file(api_version, kind)
        target = args.out / name
        if target.exists():
            continue
        src = source / name
        if not src.exists():
            missing.append(f"{kind} ({api_version})")
            continue
        schema = json.loads(src.read_text(encoding="utf-8"))
        gvks = schema.get("x-kubernetes-group-version-kind", [])
        if not any(g.get("kind") == kind and (f"{g['group']}/{g['version']}" if g.get("group") else g.get("version")) == api_version for g in gvks):
            missing.append(f"{kind} ({api_version}): {name} describes {gvks}")
            continue
        if definitions is None:
            definitions = json.loads((source / "_definitions.json").read_text(encoding="utf-8"))["$defs"]
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(standalone(schema, definitions)), encoding="utf-8")
        tmp.replace(target)
    if missing:
        print(f"k8s-schemas: no Kubernetes {args.version} schema for: " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
