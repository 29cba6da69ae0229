#!/usr/bin/env node
// Reads manifests rendered by `helm template` (a file of YAML documents) and prints, for every Deployment, what a
// cluster should make of it: `<name> <replicas> <hpa> <pdb>`, where replicas is spec.replicas or, under an HPA,
// its minReplicas; hpa is `min-max` or `none`; pdb is `yes` or `no`. tools/deploy/verify checks the cluster
// against these lines, so every service of the platform is checked without a list kept by hand.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const docs = parseAllDocuments(readFileSync(process.argv[2], 'utf8'))
  .map((d) => d.toJS())
  .filter((d) => d && typeof d === 'object');
const byKind = (kind) => docs.filter((d) => d.kind === kind);
for (const deployment of byKind('Deployment')) {
  const name = deployment.metadata.name;
  const hpa = byKind('HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
  const labels = deployment.spec?.selector?.matchLabels ?? {};
  const pdb = byKind('PodDisruptionBudget').find((p) => {
    const selector = p.spec?.selector?.matchLabels ?? {};
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
  const replicas = hpa ? hpa.spec.minReplicas ?? 1 : deployment.spec?.replicas ?? 1;
  console.log(`${name} ${replicas} ${hpa ? `${hpa.spec.minReplicas ?? 1}-${hpa.spec.maxReplicas}` : 'none'} ${pdb ? 'yes' : 'no'}`);
}
