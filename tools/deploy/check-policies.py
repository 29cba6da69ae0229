#!/usr/bin/env python3
"""Policy test of rendered manifests (the output of `helm template`).

    python check-policies.py MANIFEST.yaml...   exit 1, naming each problem, when a manifest breaks a rule

Rules:
  - every workload has a NetworkPolicy selecting its pods, with policyTypes Ingress and Egress;
  - no NetworkPolicy rule allows everything: an ingress rule without `from`, an egress rule without `to` and
    without ports, or a peer that is empty, selects every namespace, or is an ipBlock of 0.0.0.0/0 or ::/0;
  - every container and init container runs as non-root with a read-only root filesystem, no privilege
    escalation, not privileged, capabilities drop ALL and the RuntimeDefault (or Localhost) seccomp profile
    (the Kubernetes "restricted" Pod Security Standard), from its own security context or the pod's.
"""
import sys

import yaml

WORKLOADS = {'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'ReplicaSet'}


def pod_spec(doc):
    kind = doc.get('kind')
    spec = doc.get('spec') or {}
    if kind == 'Pod':
        return spec
    if kind == 'CronJob':
        return ((spec.get('jobTemplate') or {}).get('spec') or {}).get('template', {}).get('spec') or {}
    return (spec.get('template') or {}).get('spec') or {}


def pod_labels(doc):
    if doc.get('kind') == 'Pod':
        return (doc.get('metadata') or {}).get('labels') or {}
    spec = doc.get('spec') or {}
    if doc.get('kind') == 'CronJob':
        spec = (spec.get('jobTemplate') or {}).get('spec') or {}
    return ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}


def open_peer(peer):
    if not peer:
        return 'an empty peer (everything)'
    block = peer.get('ipBlock')
    if block and block.get('cidr') in ('0.0.0.0/0', '::/0'):
        return f"ipBlock {block.get('cidr')}"
    if 'namespaceSelector' in peer and not peer.get('namespaceSelector') and not peer.get('podSelector'):
        return 'namespaceSelector {} (every namespace)'
    return None


def check_policy(name, doc, problems):
    spec = doc.get('spec') or {}
    types = set(spec.get('policyTypes') or [])
    if types != {'Ingress', 'Egress'}:
        problems.append(f'{name}: policyTypes {sorted(types)}, want Ingress and Egress')
    for i, rule in enumerate(spec.get('ingress') or []):
        peers = (rule or {}).get('from')
        if not peers:
            problems.append(f'{name}: ingress[{i}] has no `from`: it accepts connections from anywhere')
        for peer in peers or []:
            if open_peer(peer):
                problems.append(f'{name}: ingress[{i}] allows {open_peer(peer)}')
    for i, rule in enumerate(spec.get('egress') or []):
        rule = rule or {}
        peers = rule.get('to')
        if not peers and not rule.get('ports'):
            problems.append(f'{name}: egress[{i}] has neither `to` nor ports: it allows any egress')
        for peer in peers or []:
            if open_peer(peer):
                problems.append(f'{name}: egress[{i}] allows {open_peer(peer)}')


def check_container(name, container, pod_context, problems):
    ctx = container.get('securityContext') or {}

    def value(key):
        return ctx[key] if key in ctx else pod_context.get(key)

    if value('runAsNonRoot') is not True:
        problems.append(f'{name}: runAsNonRoot is not true')
    if value('runAsUser') == 0:
        problems.append(f'{name}: runs as UID 0')
    if ctx.get('readOnlyRootFilesystem') is not True:
        problems.append(f'{name}: readOnlyRootFilesystem is not true')
    if ctx.get('allowPrivilegeEscalation') is not False:
        problems.append(f'{name}: allowPrivilegeEscalation is not false')
    if ctx.get('privileged'):
        problems.append(f'{name}: privileged')
    if 'ALL' not in ((ctx.get('capabilities') or {}).get('drop') or []):
        problems.append(f'{name}: capabilities do not drop ALL')
    seccomp = (value('seccompProfile') or {}).get('type')
    if seccomp not in ('RuntimeDefault', 'Localhost'):
        problems.append(f'{name}: seccompProfile is {seccomp or "unset"}, want RuntimeDefault')


def selects(policy, labels):
    match = ((policy.get('spec') or {}).get('podSelector') or {}).get('matchLabels') or {}
    return all(labels.get(k) == v for k, v in match.items())


def main(paths):
    problems = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        policies = [d for d in docs if d.get('kind') == 'NetworkPolicy']
        for doc in policies:
            check_policy(f"{path}: NetworkPolicy {doc['metadata']['name']}", doc, problems)
        for doc in docs:
            if doc.get('kind') not in WORKLOADS:
                continue
            name = f"{path}: {doc['kind']} {doc['metadata']['name']}"
            spec = pod_spec(doc)
            # helm test Pods run once and go; the service's own pods must be covered by a policy.
            is_test = 'helm.sh/hook' in ((doc.get('metadata') or {}).get('annotations') or {})
            if not is_test and not any(selects(p, pod_labels(doc)) for p in policies):
                problems.append(f'{name}: no NetworkPolicy selects its pods')
            pod_context = spec.get('securityContext') or {}
            for c in (spec.get('initContainers') or []) + (spec.get('containers') or []):
                check_container(f"{name} container {c.get('name')}", c, pod_context, problems)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
